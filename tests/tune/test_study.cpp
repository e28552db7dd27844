#include "faceage/tune/study.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "faceage/core/fs.hpp"
#include "faceage/tune/test_functions.hpp"
#include "support/temp_dir.hpp"

namespace faceage::tune {
namespace {

double branin_value(double a, double b) { return branin({a, b}); }

const std::string kFake = std::string(FACEAGE_SOURCE_DIR) + "/tests/tune/fake_trial.sh";

// A study over Branin run by tests/tune/fake_trial.sh in `dir` (base.yaml is written there).
YAML::Node fake_study(const std::string& dir, const std::string& strategy, int trials, int parallel, int epochs,
                      double sleep_s, const std::string& pruner = "{kind: none}") {
  std::ofstream(dir + "/base.yaml") << "model: {arch: mobilenet_v2}\ntrain: {epochs: 30, batch_size: 64}\n";
  YAML::Node root = YAML::Load(
      "study: {name: fake-branin, metric: val_mae, mode: min, poll_interval_s: 0.02, kill_grace_s: 1}\n"
      "base_config: base.yaml\n"
      "space:\n  x1: {type: float, low: -5, high: 10}\n  x2: {type: float, low: 0, high: 15}\n");
  root["study"]["strategy"] = strategy;
  root["study"]["trials"] = trials;
  root["study"]["parallel"] = parallel;
  root["study"]["seed"] = 5;
  root["study"]["workdir"] = dir;
  root["study"]["command"] = YAML::Load("[bash, " + kFake + ", --config, '{base_config}', --run-dir, '{trial_dir}', '{overrides}']");
  root["fixed"]["train.epochs"] = epochs;
  root["fixed"]["fake.sleep"] = sleep_s;
  root["pruner"] = YAML::Load(pruner);
  return root;
}

std::map<std::string, int> invocations(const std::string& study_dir) {
  std::map<std::string, int> counts;
  std::ifstream in(study_dir + "/trials/invocations.log");
  for (std::string line; std::getline(in, line);) ++counts[line];
  return counts;
}

TEST(StudyConfig, ErrorsNameTheKey) {
  auto expect_error = [](const std::string& yaml, const std::string& needle) {
    try {
      StudyConfig::from_yaml(YAML::Load(yaml));
      FAIL() << yaml;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConfig);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string space = "space: {a: {type: float, low: 0, high: 1}}\n";
  expect_error("study: {trials: 0}\nbase_config: b.yaml\n" + space, "study.trials");
  expect_error("study: {trials: x}\nbase_config: b.yaml\n" + space, "study.trials");
  expect_error("study: {strategy: bayes}\nbase_config: b.yaml\n" + space, "gp-ei");
  expect_error("study: {mode: minimise}\nbase_config: b.yaml\n" + space, "study.mode");
  expect_error("study: {trails: 3}\nbase_config: b.yaml\n" + space, "study.trails");
  expect_error("study: {}\n" + space, "base_config");
  expect_error("study: {}\nbase_config: b.yaml\nfixed: {a: 1}\n" + space, "fixed.a");
  expect_error("study: {}\nbase_config: b.yaml\npruner: {kind: asha}\n" + space, "pruner.kind");
  expect_error("study: {}\nbase_config: b.yaml\nspace: {a: {type: int, low: 0}}\n", "space.a");
}

TEST(StudyConfig, RepositoryConfigsParse) {
  const std::string path = std::string(FACEAGE_SOURCE_DIR) + "/configs/tune/utk_mbv2_short.yaml";
  const auto c = StudyConfig::from_yaml(YAML::LoadFile(path));
  EXPECT_EQ(c.space.size(), 5u);
  EXPECT_EQ(c.trials, 12);
  EXPECT_EQ(c.pruner.kind, "median");
  const ParamSet p{1e-3, 1e-4, std::string("dldl"), std::string("light"), 0.25};
  const auto o = c.overrides(p);
  // The trainer's keys (an earlier version searched `optim.lr`, which no trial read).
  EXPECT_NE(std::find(o.begin(), o.end(), "optimizer.lr=0.001"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "loss.age=dldl"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "model.head_dropout=0.25"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "train.epochs=2"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "data.limit_train=4000"), o.end());
}

TEST(Study, RunsFakeTrialsInParallelAndWritesOutputs) {
  faceage::testing::TempDir tmp;
  const std::string dir = tmp.file("study");
  create_study(dir, fake_study(tmp.path().string(), "gp-ei", 8, 2, 2, 0.02));
  EXPECT_THROW(create_study(dir, fake_study(tmp.path().string(), "gp-ei", 8, 2, 2, 0.02)), Error);  // exists
  StudyRunOptions options;
  options.study_dir = dir;
  const auto result = run_study(options);
  ASSERT_EQ(result.trials.size(), 8u);
  EXPECT_EQ(result.complete, 8);
  std::set<std::string> keys;
  for (const auto& t : result.trials) {
    EXPECT_EQ(t.epochs.size(), 2u);
    // value = best over epochs = branin * (1 + 1/2) at the last epoch.
    const auto p = result.config.space.from_json(t.params);
    const double f = branin_value(std::get<double>(p[0]), std::get<double>(p[1]));
    EXPECT_NEAR(*t.value, f * 1.5, 1e-6 * std::max(1.0, f));
    EXPECT_TRUE(keys.insert(t.params.dump()).second) << "duplicate trial parameters";
  }
  ASSERT_TRUE(result.best.has_value());
  for (const auto& t : result.trials) EXPECT_GE(*t.value, *result.trials[*result.best].value);
  for (const char* f : {"trials.csv", "best.yaml", "best_trial.yaml", "best_so_far.png", "slices.png", "study.yaml"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  // best.yaml: the base config with the best parameters, without the trial-shortening fixed values;
  // best_trial.yaml: with them, as the trial ran.
  const auto best = YAML::LoadFile(dir + "/best.yaml");
  const auto best_trial = YAML::LoadFile(dir + "/best_trial.yaml");
  EXPECT_EQ(best["model"]["arch"].as<std::string>(), "mobilenet_v2");
  EXPECT_EQ(best["train"]["epochs"].as<int>(), 30);  // fake_study's base.yaml, not fixed's 2
  EXPECT_EQ(best_trial["train"]["epochs"].as<int>(), 2);
  EXPECT_EQ(best["train"]["batch_size"].as<int>(), 64);
  EXPECT_FALSE(best["fake"]) << "fixed-only keys stay out of best.yaml";
  EXPECT_TRUE(best_trial["fake"]);
  EXPECT_DOUBLE_EQ(best["x1"].as<double>(), result.trials[*result.best].params["x1"].get<double>());
  EXPECT_DOUBLE_EQ(best_trial["x1"].as<double>(), result.trials[*result.best].params["x1"].get<double>());
  std::ifstream csv(dir + "/trials.csv");
  int lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 9);
  const auto summary = format_study_summary(result);
  EXPECT_NE(summary.find("8 complete"), std::string::npos) << summary;
}

TEST(Study, FailingTrialsAreRecordedNotFatal) {
  faceage::testing::TempDir tmp;
  const std::string dir = tmp.file("study");
  auto root = fake_study(tmp.path().string(), "random", 3, 1, 1, 0.0);
  root["fixed"]["fake.fail"] = 1;
  create_study(dir, root);
  StudyRunOptions options;
  options.study_dir = dir;
  const auto result = run_study(options);
  EXPECT_EQ(result.failed, 3);
  EXPECT_FALSE(result.best.has_value());
  EXPECT_NE(result.trials[0].message.find("exit status 3"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/best.yaml"));

  // A command that cannot start fails its trials with the reason.
  const std::string dir2 = tmp.file("study2");
  root["study"]["command"] = YAML::Load("[/nonexistent/trainer]");
  create_study(dir2, root);
  options.study_dir = dir2;
  const auto r2 = run_study(options);
  EXPECT_EQ(r2.failed, 3);
  EXPECT_NE(r2.trials[0].message.find("/nonexistent/trainer"), std::string::npos);
}

TEST(Study, MedianPrunerStopsHopelessTrials) {
  faceage::testing::TempDir tmp;
  const std::string dir = tmp.file("study");
  create_study(dir, fake_study(tmp.path().string(), "random", 10, 1, 5, 0.06,
                               "{kind: median, warmup_epochs: 1, min_trials: 2}"));
  StudyRunOptions options;
  options.study_dir = dir;
  const auto result = run_study(options);
  EXPECT_EQ(result.trials.size(), 10u);
  EXPECT_GE(result.pruned, 1);
  for (const auto& t : result.trials) {
    if (t.state == TrialState::kPruned) {
      EXPECT_LT(t.epochs.size(), 5u) << "trial " << t.number << " ran to the end";
      EXPECT_GE(t.epochs.size(), 2u) << "pruned during warmup";
    }
  }
  EXPECT_EQ(result.complete + result.pruned, 10);
}

TEST(Study, ResumeAfterSigkillRepeatsNoFinishedTrial) {
  faceage::testing::TempDir tmp;
  const std::string dir = tmp.file("study");
  const int budget = 10;
  create_study(dir, fake_study(tmp.path().string(), "gp-ei", budget, 2, 3, 0.08));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      StudyRunOptions options;
      options.study_dir = dir;
      run_study(options);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  // Kill the tuner once at least 3 trials are complete (and others are running).
  std::vector<TrialRecord> before;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    if (!std::filesystem::exists(dir + "/study.db")) continue;
    StudyStore peek(dir + "/study.db");
    before = peek.trials(false);
    int complete = 0;
    for (const auto& t : before) complete += t.state == TrialState::kComplete;
    if (complete >= 3) break;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the tuner finished before it could be killed";
  {
    StudyStore peek(dir + "/study.db");
    before = peek.trials(false);
  }
  ASSERT_LT(before.size(), static_cast<std::size_t>(budget));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let orphaned sleeps finish

  StudyRunOptions options;
  options.study_dir = dir;
  const auto result = run_study(options);
  ASSERT_EQ(result.trials.size(), static_cast<std::size_t>(budget));
  EXPECT_EQ(result.complete, budget);
  const auto counts = invocations(dir);
  for (const auto& t : before) {
    const auto& after = result.trials[static_cast<std::size_t>(t.number)];
    EXPECT_EQ(after.params, t.params) << "trial " << t.number;
    char name[32];
    std::snprintf(name, sizeof(name), "trial_%04d", t.number);
    if (t.state == TrialState::kComplete) {
      EXPECT_EQ(counts.at(name), 1) << name << " was run again";
      EXPECT_EQ(after.value, t.value);
      EXPECT_EQ(after.attempts, 1);
    } else {
      // Running when killed: restarted once. Pending (created, not yet started): started once.
      ASSERT_TRUE(t.state == TrialState::kRunning || t.state == TrialState::kPending) << trial_state_name(t.state);
      EXPECT_EQ(after.attempts, t.state == TrialState::kRunning ? 2 : 1) << name;
    }
  }
  std::set<std::string> keys;
  for (const auto& t : result.trials) EXPECT_TRUE(keys.insert(t.params.dump()).second) << "duplicate parameters";
  // Nothing more to do: a second resume starts no trial.
  const auto again = run_study(options);
  EXPECT_EQ(again.trials.size(), static_cast<std::size_t>(budget));
  EXPECT_EQ(invocations(dir).size(), static_cast<std::size_t>(budget));
}

TEST(Study, ResumeOfAMissingStudyIsNotFound) {
  faceage::testing::TempDir tmp;
  StudyRunOptions options;
  options.study_dir = tmp.file("none");
  try {
    run_study(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace faceage::tune
