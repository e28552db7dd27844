#pragma once
// The durable record of a study: STUDY_DIR/study.db, SQLite in WAL mode with synchronous=FULL, one
// transaction per change, so a crash (even SIGKILL or power loss) leaves the last committed state.
//   meta(key, value)                       study name, config text, creation time
//   trials(number, state, params, value, run_dir, pid, attempts, started, finished, message)
//   epochs(trial, step, value, record)     one row per metrics.jsonl line read
// Not thread-safe; one tuner process owns a study at a time (the tuner holds a lock file).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceage::sqlite {
class Database;
}

namespace faceage::tune {

enum class TrialState { kPending, kRunning, kComplete, kPruned, kFailed };
const char* trial_state_name(TrialState state);
TrialState parse_trial_state(const std::string& name);  // kConfig for an unknown name

struct EpochRecord {
  int step = 0;          // 1-based
  double value = 0.0;    // the study metric as reported (not negated)
  std::string record;    // the metrics.jsonl line
};

struct TrialRecord {
  int number = 0;
  TrialState state = TrialState::kPending;
  nlohmann::json params;  // {"optim.lr": 0.001, ...}
  std::optional<double> value;  // best metric over epochs (complete), best so far (pruned)
  std::string run_dir;
  int attempts = 0;
  double started = 0.0, finished = 0.0;  // unix seconds (0 when not yet)
  std::string message;
  std::vector<EpochRecord> epochs;
};

class StudyStore {
 public:
  // Opens (creating when missing) the database file; kIo on failure.
  explicit StudyStore(const std::string& path);
  ~StudyStore();
  StudyStore(const StudyStore&) = delete;
  StudyStore& operator=(const StudyStore&) = delete;

  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key) const;

  // A new pending trial numbered max(number) + 1 (0 for the first).
  int add_trial(const nlohmann::json& params, const std::string& run_dir);
  void mark_running(int number, int pid);
  void add_epoch(int number, int step, double value, const std::string& record);
  void finish(int number, TrialState state, std::optional<double> value, const std::string& message = {});
  // Trials left running by a killed tuner go back to pending (their epochs are dropped) so they
  // are restarted with the same parameters; returns their numbers.
  std::vector<int> requeue_interrupted();

  std::vector<TrialRecord> trials(bool with_epochs = true) const;
  int count() const;

 private:
  std::unique_ptr<sqlite::Database> db_;
};

double unix_now();

}  // namespace faceage::tune
