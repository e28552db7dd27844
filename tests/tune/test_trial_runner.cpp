#include "faceage/tune/trial_runner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "faceage/core/error.hpp"
#include "support/temp_dir.hpp"

namespace faceage::tune {
namespace {

TEST(TrialRunner, ExpandsTokensAndOverrides) {
  const auto argv = expand_command(default_trial_command(),
                                   {{"faceage", "/bin/fa"}, {"base_config", "/c.yaml"}, {"trial_dir", "/s/t0"}},
                                   {"optim.lr=0.001", "loss.age=l1"});
  EXPECT_EQ(argv, (std::vector<std::string>{"/bin/fa", "train", "--config", "/c.yaml", "--run-dir", "/s/t0", "--set",
                                             "optim.lr=0.001", "--set", "loss.age=l1"}));
  // Tokens inside a longer argument; unknown tokens stay as written.
  EXPECT_EQ(expand_command({"x", "CUDA={slot}/{nope}"}, {{"slot", "1"}}, {})[1], "CUDA=1/{nope}");
}

TEST(TrialRunner, JsonlTailWaitsForCompleteLines) {
  faceage::testing::TempDir tmp;
  const auto path = tmp.file("metrics.jsonl");
  JsonlTail tail(path);
  EXPECT_TRUE(tail.read_new().empty());  // no file yet
  std::ofstream out(path);
  out << "{\"epoch\":1,\"val_mae\":5.5}\n{\"epoch\":2,\"val" << std::flush;
  auto lines = tail.read_new();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_DOUBLE_EQ(lines[0].first["val_mae"].get<double>(), 5.5);
  out << "_mae\":4.5}\nnot json\n" << std::flush;
  lines = tail.read_new();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_DOUBLE_EQ(lines[0].first["val_mae"].get<double>(), 4.5);
  EXPECT_TRUE(lines[1].first.is_null());
  EXPECT_EQ(lines[1].second, "not json");
}

TEST(TrialRunner, SubprocessExitStatusLogAndTermination) {
  faceage::testing::TempDir tmp;
  auto ok = Subprocess::spawn({"sh", "-c", "echo hello; exit 3"}, tmp.path().string(), tmp.file("log"));
  while (!ok.poll()) {}
  EXPECT_EQ(*ok.poll(), 3);
  std::ifstream log(tmp.file("log"));
  std::string line;
  std::getline(log, line);
  EXPECT_EQ(line, "hello");

  // A child that ignores SIGTERM is killed after the grace period.
  auto stubborn = Subprocess::spawn({"sh", "-c", "trap '' TERM; echo ready; sleep 30"}, "", tmp.file("log2"));
  EXPECT_TRUE(stubborn.running());
  // Wait until the trap is installed: a SIGTERM before that would end the shell normally.
  for (int i = 0; i < 500; ++i) {
    std::ifstream ready(tmp.file("log2"));
    std::string first;
    if (std::getline(ready, first) && first == "ready") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stubborn.terminate(0.2), 128 + 9);

  EXPECT_THROW(Subprocess::spawn({"/nonexistent/faceage-trial"}, "", tmp.file("log3")), Error);
}

}  // namespace
}  // namespace faceage::tune
