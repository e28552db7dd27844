#include "faceage/tune/study.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/config.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/tune/plot.hpp"
#include "faceage/tune/trial_runner.hpp"

namespace fs = std::filesystem;

namespace faceage::tune {
namespace {

constexpr const char* kStudyYaml = "study.yaml";
constexpr const char* kStudyDb = "study.db";

template <class T>
T read_field(const YAML::Node& node, const std::string& field, const std::string& where, T fallback) {
  const YAML::Node n = node[field];
  if (!n.IsDefined() || n.IsNull()) return fallback;
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw Error(ErrorCode::kConfig, where + "." + field + " has a value of the wrong type: " + YAML::Dump(n));
  }
}

std::string yaml_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// Holds an exclusive flock on STUDY_DIR/.lock for the lifetime of a run.
class StudyLock {
 public:
  explicit StudyLock(const std::string& study_dir) {
    const std::string path = study_dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    FACEAGE_CHECK(fd_ >= 0, ErrorCode::kIo, "cannot open " << path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(ErrorCode::kInvalidArgument, "study " + study_dir + " is being run by another tuner process",
                  "wait for it to finish or stop it first");
    }
  }
  ~StudyLock() { ::close(fd_); }
  StudyLock(const StudyLock&) = delete;
  StudyLock& operator=(const StudyLock&) = delete;

 private:
  int fd_ = -1;
};

struct ActiveTrial {
  int number = 0;
  int slot = 0;
  ParamSet params;
  Subprocess process;
  std::unique_ptr<JsonlTail> tail;
  std::vector<double> curve;  // oriented (minimised)
  double best_raw = std::numeric_limits<double>::quiet_NaN();
  bool warned_missing = false;
};

std::string trial_dir_name(int number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "trial_%04d", number);
  return buf;
}

bool better(double a, double b, bool maximize) { return maximize ? a > b : a < b; }

}  // namespace

StudyConfig StudyConfig::from_yaml(const YAML::Node& root) {
  FACEAGE_CHECK(root.IsMap(), ErrorCode::kConfig, "a study config must be a map with study, base_config, space");
  for (const auto& item : root) {
    const auto key = item.first.as<std::string>();
    static const std::set<std::string> known{"study", "base_config", "fixed", "space", "pruner"};
    FACEAGE_CHECK(known.count(key), ErrorCode::kConfig,
                  "unknown top-level key '" << key << "'; expected study, base_config, fixed, space, pruner");
  }
  StudyConfig c;
  const YAML::Node s = root["study"];
  FACEAGE_CHECK(s.IsDefined() && s.IsMap(), ErrorCode::kConfig, "study: missing (a map with name, metric, trials, ...)");
  static const std::set<std::string> study_keys{"name",     "metric",  "mode",           "trials",       "parallel",
                                                "strategy", "seed",    "initial_points", "xi",           "command",
                                                "workdir",  "poll_interval_s", "kill_grace_s"};
  for (const auto& item : s) {
    const auto key = item.first.as<std::string>();
    FACEAGE_CHECK(study_keys.count(key), ErrorCode::kConfig, "study." << key << ": unknown key");
  }
  c.name = read_field<std::string>(s, "name", "study", c.name);
  c.metric = read_field<std::string>(s, "metric", "study", c.metric);
  const auto mode = read_field<std::string>(s, "mode", "study", "min");
  FACEAGE_CHECK(mode == "min" || mode == "max", ErrorCode::kConfig, "study.mode must be min or max, not '" << mode << "'");
  c.maximize = mode == "max";
  c.trials = read_field<int>(s, "trials", "study", c.trials);
  FACEAGE_CHECK(c.trials >= 1, ErrorCode::kConfig, "study.trials must be >= 1");
  c.parallel = read_field<int>(s, "parallel", "study", c.parallel);
  FACEAGE_CHECK(c.parallel >= 1 && c.parallel <= 256, ErrorCode::kConfig, "study.parallel must be in [1, 256]");
  c.strategy = read_field<std::string>(s, "strategy", "study", c.strategy);
  FACEAGE_CHECK(strategy_registry().contains(c.strategy), ErrorCode::kConfig,
                "study.strategy: unknown strategy '" << c.strategy << "'; available: " << join(strategy_registry().names(), ", "));
  c.seed = read_field<std::uint64_t>(s, "seed", "study", c.seed);
  c.strategy_options.initial_points = read_field<int>(s, "initial_points", "study", 0);
  FACEAGE_CHECK(c.strategy_options.initial_points >= 0, ErrorCode::kConfig, "study.initial_points must be >= 0");
  c.strategy_options.xi = read_field<double>(s, "xi", "study", c.strategy_options.xi);
  FACEAGE_CHECK(c.strategy_options.xi >= 0, ErrorCode::kConfig, "study.xi must be >= 0");
  c.command = read_field<std::vector<std::string>>(s, "command", "study", {});
  c.workdir = read_field<std::string>(s, "workdir", "study", "");
  c.poll_interval_s = read_field<double>(s, "poll_interval_s", "study", c.poll_interval_s);
  FACEAGE_CHECK(c.poll_interval_s > 0 && c.poll_interval_s <= 60, ErrorCode::kConfig, "study.poll_interval_s must be in (0, 60]");
  c.kill_grace_s = read_field<double>(s, "kill_grace_s", "study", c.kill_grace_s);
  FACEAGE_CHECK(c.kill_grace_s >= 0, ErrorCode::kConfig, "study.kill_grace_s must be >= 0");

  c.base_config = read_field<std::string>(root, "base_config", "", "");
  FACEAGE_CHECK(!c.base_config.empty(), ErrorCode::kConfig, "base_config: missing (the training config trials start from)");
  if (const YAML::Node f = root["fixed"]; f.IsDefined() && !f.IsNull()) {
    FACEAGE_CHECK(f.IsMap(), ErrorCode::kConfig, "fixed must be a map of training-config key: value");
    for (const auto& item : f) c.fixed.emplace_back(item.first.as<std::string>(), yaml_text(item.second));
  }
  c.space = SearchSpace::from_yaml(root["space"], "space");
  for (const auto& [key, value] : c.fixed)
    for (const auto& p : c.space.params())
      FACEAGE_CHECK(p.key != key, ErrorCode::kConfig, "fixed." << key << " is also in space");
  c.pruner = PrunerOptions::from_yaml(root["pruner"]);
  return c;
}

std::vector<std::string> StudyConfig::overrides(const ParamSet& params) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : fixed) out.push_back(key + "=" + value);
  const auto tuned = parameter_overrides(params);
  out.insert(out.end(), tuned.begin(), tuned.end());
  return out;
}

std::vector<std::string> StudyConfig::parameter_overrides(const ParamSet& params) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < space.size(); ++i) out.push_back(space.params()[i].key + "=" + space.format(i, params[i]));
  return out;
}

void create_study(const std::string& study_dir, YAML::Node root) {
  FACEAGE_CHECK(!study_dir.empty(), ErrorCode::kInvalidArgument, "no study directory given");
  const fs::path dir = fs::absolute(study_dir);
  if (fs::exists(dir / kStudyDb) || fs::exists(dir / kStudyYaml))
    throw Error(ErrorCode::kInvalidArgument, "a study already exists in " + dir.string(),
                "continue it with faceage tune --resume " + dir.string() + ", or choose another --study-dir");
  root = YAML::Clone(root);
  StudyConfig config = StudyConfig::from_yaml(root);  // validate before touching the disk
  const fs::path workdir = config.workdir.empty() ? fs::current_path() : fs::absolute(config.workdir);
  root["study"]["workdir"] = workdir.string();
  const fs::path base = fs::path(config.base_config).is_absolute() ? fs::path(config.base_config) : workdir / config.base_config;
  root["base_config"] = base.lexically_normal().string();
  std::error_code ec;
  fs::create_directories(dir / "trials", ec);
  FACEAGE_CHECK(!ec, ErrorCode::kIo, "cannot create " << (dir / "trials").string() << ": " << ec.message());
  write_file_atomic((dir / kStudyYaml).string(), YAML::Dump(root) + "\n");
  StudyStore store((dir / kStudyDb).string());
  store.set_meta("name", config.name);
  store.set_meta("created", format_double(unix_now()));
}

YAML::Node load_study_yaml(const std::string& study_dir) {
  const std::string path = study_dir + "/" + kStudyYaml;
  FACEAGE_CHECK(fs::exists(path) && fs::exists(study_dir + "/" + kStudyDb), ErrorCode::kNotFound,
                "no study in " << study_dir << " (missing " << kStudyYaml << " or " << kStudyDb << ")");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kConfig, path + ": " + e.what());
  }
}

StudyResult run_study(const StudyRunOptions& options) {
  const std::string dir = fs::absolute(options.study_dir).string();
  YAML::Node root = load_study_yaml(dir);
  StudyLock lock(dir);
  if (options.trials > 0 || options.parallel > 0) {
    if (options.trials > 0) root["study"]["trials"] = options.trials;
    if (options.parallel > 0) root["study"]["parallel"] = options.parallel;
    StudyConfig::from_yaml(root);  // validate before saving
    write_file_atomic(dir + "/" + kStudyYaml, YAML::Dump(root) + "\n");
  }
  const StudyConfig config = StudyConfig::from_yaml(root);
  const auto& space = config.space;
  const double sign = config.maximize ? -1.0 : 1.0;
  auto log = options.logger;
  StudyStore store(dir + "/" + kStudyDb);
  for (int number : store.requeue_interrupted())
    if (log) log->warn("trial {} was running when the tuner stopped; restarting it", number);

  auto strategy = strategy_registry().create(config.strategy, config.strategy_options);
  const std::vector<std::string> command = config.command.empty() ? default_trial_command() : config.command;

  // What the strategy and pruner see, kept in memory and updated as trials finish.
  std::vector<Observation> observed;
  std::vector<ParamSet> excluded;
  std::map<int, std::vector<double>> finished_curves, complete_curves;
  std::vector<int> requeued;
  for (const auto& t : store.trials()) {
    std::vector<double> curve;
    for (const auto& e : t.epochs) curve.push_back(sign * e.value);
    ParamSet params = space.from_json(t.params);
    if (t.state == TrialState::kPending) {
      requeued.push_back(t.number);
      continue;
    }
    finished_curves[t.number] = curve;
    if (t.state == TrialState::kComplete) complete_curves[t.number] = curve;
    if ((t.state == TrialState::kComplete || t.state == TrialState::kPruned) && t.value)
      observed.push_back({std::move(params), sign * *t.value});
    else
      excluded.push_back(std::move(params));
  }
  std::map<int, ParamSet> requeued_params;
  for (const auto& t : store.trials(false))
    if (t.state == TrialState::kPending) requeued_params[t.number] = space.from_json(t.params);

  std::vector<ActiveTrial> active;
  std::vector<bool> slot_used(static_cast<std::size_t>(config.parallel), false);
  bool exhausted = false;

  auto launch = [&](int number, ParamSet params) {
    const fs::path trial_dir = fs::path(dir) / "trials" / trial_dir_name(number);
    std::error_code ec;
    fs::remove_all(trial_dir, ec);  // a restarted trial starts from scratch
    fs::create_directories(trial_dir, ec);
    FACEAGE_CHECK(!ec, ErrorCode::kIo, "cannot create " << trial_dir.string() << ": " << ec.message());
    ActiveTrial a;
    a.number = number;
    a.slot = static_cast<int>(std::find(slot_used.begin(), slot_used.end(), false) - slot_used.begin());
    a.params = std::move(params);
    const auto overrides = config.overrides(a.params);
    write_file_atomic((trial_dir / "trial.json").string(),
                      nlohmann::json{{"number", number}, {"params", space.to_json(a.params)}, {"overrides", overrides}}.dump(2) + "\n");
    const std::map<std::string, std::string> tokens{{"faceage", options.executable}, {"base_config", config.base_config},
                                                    {"trial_dir", trial_dir.string()}, {"study_dir", dir},
                                                    {"trial", std::to_string(number)}, {"slot", std::to_string(a.slot)}};
    const auto argv = expand_command(command, tokens, overrides);
    try {
      a.process = Subprocess::spawn(argv, config.workdir, (trial_dir / "trial.log").string());
    } catch (const Error& e) {
      store.mark_running(number, 0);
      store.finish(number, TrialState::kFailed, std::nullopt, e.what());
      excluded.push_back(a.params);
      finished_curves[number] = {};
      if (log) log->error("trial {}: {}", number, e.what());
      return;
    }
    store.mark_running(number, static_cast<int>(a.process.pid()));
    slot_used[static_cast<std::size_t>(a.slot)] = true;
    a.tail = std::make_unique<JsonlTail>((trial_dir / "metrics.jsonl").string());
    if (log) log->info("trial {} started: {}", number, space.to_json(a.params).dump());
    active.push_back(std::move(a));
  };

  auto finish = [&](ActiveTrial& a, TrialState state, const std::string& message) {
    std::optional<double> value;
    if (!std::isnan(a.best_raw)) value = a.best_raw;
    if (state == TrialState::kComplete && !value) {
      state = TrialState::kFailed;
    }
    store.finish(a.number, state, state == TrialState::kFailed ? std::nullopt : value, message);
    finished_curves[a.number] = a.curve;
    if (state == TrialState::kComplete) complete_curves[a.number] = a.curve;
    if (state == TrialState::kFailed) excluded.push_back(a.params);
    else observed.push_back({a.params, sign * *value});
    slot_used[static_cast<std::size_t>(a.slot)] = false;
    if (log) {
      if (state == TrialState::kFailed) log->warn("trial {} failed: {}", a.number, message);
      else log->info("trial {} {}: {} = {}", a.number, trial_state_name(state), config.metric, *value);
    }
    if (options.on_trial_done) {
      TrialRecord r;
      r.number = a.number;
      r.state = state;
      r.params = space.to_json(a.params);
      r.value = value;
      r.message = message;
      options.on_trial_done(r);
    }
  };

  // Reads new metrics lines; returns true when the pruner stopped the trial.
  auto ingest = [&](ActiveTrial& a) {
    for (auto& [json, line] : a.tail->read_new()) {
      const auto it = json.is_object() ? json.find(config.metric) : json.end();
      if (it == json.end() || !it->is_number() || !std::isfinite(it->get<double>())) {
        if (!a.warned_missing && log) log->warn("trial {}: a metrics line has no numeric '{}'", a.number, config.metric);
        a.warned_missing = true;
        continue;
      }
      const double raw = it->get<double>();
      a.curve.push_back(sign * raw);
      if (std::isnan(a.best_raw) || better(raw, a.best_raw, config.maximize)) a.best_raw = raw;
      store.add_epoch(a.number, static_cast<int>(a.curve.size()), raw, line);
      if (config.pruner.kind != "none") {
        std::vector<std::vector<double>> complete, others;
        for (const auto& [n, c] : complete_curves) complete.push_back(c);
        for (const auto& [n, c] : finished_curves) others.push_back(c);
        for (const auto& b : active)
          if (b.number != a.number) others.push_back(b.curve);
        if (should_prune(config.pruner, a.curve, complete, others)) return true;
      }
    }
    return false;
  };

  auto stop_requested = [&] { return options.stop && *options.stop; };

  while (true) {
    if (stop_requested()) {
      for (auto& a : active) a.process.terminate(config.kill_grace_s);  // left "running": resume restarts them
      throw Error(ErrorCode::kCancelled, "study interrupted; running trials will restart on resume",
                  "continue with faceage tune --resume " + dir);
    }
    while (static_cast<int>(active.size()) < config.parallel) {
      if (!requeued.empty()) {
        const int number = requeued.front();
        requeued.erase(requeued.begin());
        launch(number, requeued_params.at(number));
        continue;
      }
      if (exhausted || store.count() >= config.trials) break;
      std::vector<ParamSet> pending;
      for (const auto& a : active) pending.push_back(a.params);
      const int number = store.count();
      ProposalContext context{space, observed, pending, excluded, number, config.seed};
      auto params = strategy->propose(context);
      if (!params) {
        exhausted = true;
        if (log) log->warn("the search space has no unseen point left; stopping after {} trials", number);
        break;
      }
      const int added = store.add_trial(space.to_json(*params), (fs::path(dir) / "trials" / trial_dir_name(number)).string());
      FACEAGE_ENSURE(added == number, "trial numbering out of step: " << added << " vs " << number);
      launch(number, std::move(*params));
    }
    if (active.empty()) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(config.poll_interval_s));
    for (std::size_t i = 0; i < active.size();) {
      auto& a = active[i];
      bool done = false;
      if (ingest(a)) {
        a.process.terminate(config.kill_grace_s);
        finish(a, TrialState::kPruned, "pruned at epoch " + std::to_string(a.curve.size()));
        done = true;
      } else if (auto status = a.process.poll()) {
        const bool pruned = ingest(a);  // lines written just before the exit
        if (*status == 0) {
          finish(a, pruned ? TrialState::kPruned : TrialState::kComplete,
                 a.curve.empty() ? "no '" + config.metric + "' values in metrics.jsonl" : "");
        } else {
          finish(a, TrialState::kFailed, "exit status " + std::to_string(*status) + "; see trial.log");
        }
        done = true;
      }
      if (done) active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      else ++i;
    }
  }
  return write_study_outputs(dir);
}

StudyResult write_study_outputs(const std::string& study_dir) {
  const std::string dir = fs::absolute(study_dir).string();
  StudyResult result;
  result.config = StudyConfig::from_yaml(load_study_yaml(dir));
  const auto& config = result.config;
  const auto& space = config.space;
  {
    StudyStore store(dir + "/" + kStudyDb);
    result.trials = store.trials();
  }
  for (std::size_t i = 0; i < result.trials.size(); ++i) {
    const auto& t = result.trials[i];
    result.complete += t.state == TrialState::kComplete;
    result.pruned += t.state == TrialState::kPruned;
    result.failed += t.state == TrialState::kFailed;
    // The best trial is a complete one (a pruned trial's partial value is not a result).
    if (t.state == TrialState::kComplete && t.value &&
        (!result.best || better(*t.value, *result.trials[*result.best].value, config.maximize)))
      result.best = i;
  }

  // trials.csv
  std::ostringstream csv;
  csv << "number,state," << config.metric << ",epochs,attempts,duration_s";
  for (const auto& p : space.params()) csv << ',' << p.key;
  csv << ",run_dir,message\n";
  for (const auto& t : result.trials) {
    csv << t.number << ',' << trial_state_name(t.state) << ',' << (t.value ? format_double(*t.value) : "") << ','
        << t.epochs.size() << ',' << t.attempts << ',' << (t.finished > t.started && t.started > 0 ? format_double(std::round((t.finished - t.started) * 1000) / 1000) : "");
    for (const auto& p : space.params()) {
      const auto it = t.params.find(p.key);
      csv << ',' << (it == t.params.end() ? "" : it->is_string() ? it->get<std::string>() : it->dump());
    }
    std::string message = t.message;
    std::replace(message.begin(), message.end(), '"', '\'');
    csv << ',' << t.run_dir << ",\"" << message << "\"\n";
  }
  write_file_atomic(dir + "/trials.csv", csv.str());
  result.outputs.push_back(dir + "/trials.csv");

  // best.yaml: the base config with the best parameters, ready to train in full (the study's
  // `fixed` values usually shorten trials, so they are left out); best_trial.yaml: exactly what the
  // best trial ran (fixed values included), to reproduce it.
  if (result.best) {
    const auto& best = result.trials[*result.best];
    Config base;
    std::string note;
    try {
      base = Config::from_file(config.base_config);
    } catch (const Error& e) {
      note = "# base config not readable (" + std::string(e.what()) + "): only the tuned keys are listed\n";
    }
    const ParamSet params = space.from_json(best.params);
    const std::string header = "# best trial " + std::to_string(best.number) + " of study '" + config.name +
                               "': " + config.metric + " = " + format_double(*best.value) + "\n";
    Config full = base;
    full.apply_overrides(config.parameter_overrides(params));
    std::string fixed_list;
    for (const auto& [key, value] : config.fixed) fixed_list += (fixed_list.empty() ? "" : ", ") + key + "=" + value;
    write_file_atomic(dir + "/best.yaml",
                      header + "# the base config with the tuned values, without the trial-only fixed values" +
                          (fixed_list.empty() ? "" : " (" + fixed_list + ")") +
                          "\n# run it: faceage train --config best.yaml --run-dir DIR\n" + note + full.dump() + "\n");
    result.outputs.push_back(dir + "/best.yaml");
    Config trial = base;
    trial.apply_overrides(config.overrides(params));
    write_file_atomic(dir + "/best_trial.yaml",
                      header + "# exactly what that trial ran (fixed values included)\n" + note + trial.dump() + "\n");
    result.outputs.push_back(dir + "/best_trial.yaml");
  }

  // Plots: value and best-so-far per trial number; slices per parameter.
  PlotSeries values{"trial " + config.metric, {}, {}, true}, best{"best so far", {}, {}, false};
  std::vector<ParamSet> params;
  std::vector<double> metric;
  int best_index = -1;
  double running = std::numeric_limits<double>::quiet_NaN();
  for (const auto& t : result.trials) {
    if (!t.value || t.state == TrialState::kFailed) continue;
    values.x.push_back(t.number);
    values.y.push_back(*t.value);
    if (t.state == TrialState::kComplete && (std::isnan(running) || better(*t.value, running, config.maximize))) running = *t.value;
    if (!std::isnan(running)) {
      best.x.push_back(t.number);
      best.y.push_back(running);
    }
    if (result.best && t.number == result.trials[*result.best].number) best_index = static_cast<int>(params.size());
    params.push_back(space.from_json(t.params));
    metric.push_back(*t.value);
  }
  PlotOptions po;
  po.title = config.name + " (" + config.strategy + "): " + config.metric + " per trial";
  po.x_label = "trial number";
  po.y_label = config.metric;
  write_line_plot(dir + "/best_so_far.png", {values, best}, po);
  write_slice_plot(dir + "/slices.png", space, params, metric, best_index, config.metric);
  result.outputs.push_back(dir + "/best_so_far.png");
  result.outputs.push_back(dir + "/slices.png");
  return result;
}

std::string format_study_summary(const StudyResult& r, std::size_t rows) {
  const auto& c = r.config;
  std::ostringstream out;
  out << "study '" << c.name << "' (" << c.strategy << ", " << (c.maximize ? "max " : "min ") << c.metric << "): "
      << r.trials.size() << "/" << c.trials << " trials, " << r.complete << " complete, " << r.pruned << " pruned, "
      << r.failed << " failed\n";
  if (r.best) {
    const auto& b = r.trials[*r.best];
    out << "best: trial " << b.number << ", " << c.metric << " = " << format_double(*b.value) << "\n";
  }
  std::vector<const TrialRecord*> order;
  for (const auto& t : r.trials) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [&](const TrialRecord* a, const TrialRecord* b) {
    if (a->value.has_value() != b->value.has_value()) return a->value.has_value();
    if (!a->value) return false;
    if ((a->state == TrialState::kComplete) != (b->state == TrialState::kComplete)) return a->state == TrialState::kComplete;
    return better(*a->value, *b->value, c.maximize);
  });
  std::vector<std::string> header{"#", "state", c.metric, "epochs"};
  for (const auto& p : c.space.params()) header.push_back(p.key);
  std::vector<std::vector<std::string>> table{header};
  for (std::size_t i = 0; i < order.size() && i < rows; ++i) {
    const auto& t = *order[i];
    std::ostringstream v;
    if (t.value) v << std::setprecision(5) << *t.value;
    std::vector<std::string> row{std::to_string(t.number), trial_state_name(t.state), v.str(), std::to_string(t.epochs.size())};
    for (const auto& p : c.space.params()) {
      const auto it = t.params.find(p.key);
      if (it == t.params.end()) row.emplace_back("");
      else if (it->is_string()) row.push_back(it->get<std::string>());
      else if (it->is_number_float()) {
        std::ostringstream f;
        f << std::setprecision(4) << it->get<double>();
        row.push_back(f.str());
      } else row.push_back(it->dump());
    }
    table.push_back(std::move(row));
  }
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : table)
    for (std::size_t k = 0; k < row.size(); ++k) width[k] = std::max(width[k], row[k].size());
  for (const auto& row : table) {
    for (std::size_t k = 0; k < row.size(); ++k) out << (k ? "  " : "") << std::left << std::setw(static_cast<int>(width[k])) << row[k];
    out << "\n";
  }
  return out.str();
}

void write_comparison_plot(const std::vector<std::string>& study_dirs, const std::string& png) {
  FACEAGE_CHECK(!study_dirs.empty(), ErrorCode::kInvalidArgument, "no studies to compare");
  std::vector<PlotSeries> series;
  std::string metric;
  for (const auto& d : study_dirs) {
    const StudyConfig c = StudyConfig::from_yaml(load_study_yaml(d));
    StudyStore store(d + "/" + kStudyDb);
    PlotSeries s{c.name + " (" + c.strategy + ")", {}, {}, false};
    double running = std::numeric_limits<double>::quiet_NaN();
    for (const auto& t : store.trials(false)) {
      if (t.state == TrialState::kComplete && t.value && (std::isnan(running) || better(*t.value, running, c.maximize)))
        running = *t.value;
      if (!std::isnan(running)) {
        s.x.push_back(t.number + 1);
        s.y.push_back(running);
      }
    }
    metric = c.metric;
    series.push_back(std::move(s));
  }
  PlotOptions po;
  po.title = "best-so-far " + metric + " per strategy";
  po.x_label = "trials";
  po.y_label = "best " + metric;
  write_line_plot(png, series, po);
}

}  // namespace faceage::tune
