#include "faceage/tune/study_store.hpp"

#include <gtest/gtest.h>

#include "faceage/core/error.hpp"
#include "support/temp_dir.hpp"

namespace faceage::tune {
namespace {

TEST(StudyStore, PersistsTrialsEpochsAndMeta) {
  faceage::testing::TempDir tmp;
  const auto db = tmp.file("study.db");
  {
    StudyStore s(db);
    s.set_meta("name", "x");
    EXPECT_EQ(s.add_trial({{"a", 1}}, "/r/0"), 0);
    EXPECT_EQ(s.add_trial({{"a", 2}}, "/r/1"), 1);
    s.mark_running(0, 123);
    s.add_epoch(0, 1, 5.0, "{\"val_mae\":5}");
    s.add_epoch(0, 2, 4.0, "{\"val_mae\":4}");
    s.finish(0, TrialState::kComplete, 4.0);
    s.mark_running(1, 124);
    s.add_epoch(1, 1, 7.0, "{}");
  }
  StudyStore s(db);  // reopened: everything committed is there
  EXPECT_EQ(*s.meta("name"), "x");
  EXPECT_FALSE(s.meta("nope").has_value());
  auto trials = s.trials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
  EXPECT_DOUBLE_EQ(*trials[0].value, 4.0);
  ASSERT_EQ(trials[0].epochs.size(), 2u);
  EXPECT_EQ(trials[0].epochs[1].step, 2);
  EXPECT_EQ(trials[0].params["a"], 1);
  EXPECT_EQ(trials[1].state, TrialState::kRunning);
  EXPECT_EQ(trials[1].attempts, 1);
  // The running trial goes back to pending without its partial epochs.
  EXPECT_EQ(s.requeue_interrupted(), std::vector<int>{1});
  trials = s.trials();
  EXPECT_EQ(trials[1].state, TrialState::kPending);
  EXPECT_TRUE(trials[1].epochs.empty());
  EXPECT_EQ(trials[0].epochs.size(), 2u);
  EXPECT_EQ(s.add_trial({{"a", 3}}, "/r/2"), 2);
  EXPECT_EQ(s.count(), 3);
}

TEST(StudyStore, StateNamesRoundTrip) {
  for (auto st : {TrialState::kPending, TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFailed})
    EXPECT_EQ(parse_trial_state(trial_state_name(st)), st);
  EXPECT_THROW(parse_trial_state("done"), Error);
}

TEST(StudyStore, UnwritableLocationIsAnIoError) {
  try {
    StudyStore s("/proc/definitely/not/here.db");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

}  // namespace
}  // namespace faceage::tune
