#include "faceage/tune/study_store.hpp"

#include <chrono>
#include <map>

#include "faceage/core/check.hpp"
#include "faceage/core/sqlite.hpp"

namespace faceage::tune {
using sqlite::Statement;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* trial_state_name(TrialState s) {
  switch (s) {
    case TrialState::kPending: return "pending";
    case TrialState::kRunning: return "running";
    case TrialState::kComplete: return "complete";
    case TrialState::kPruned: return "pruned";
    case TrialState::kFailed: return "failed";
  }
  return "failed";
}

TrialState parse_trial_state(const std::string& name) {
  for (auto s : {TrialState::kPending, TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFailed})
    if (name == trial_state_name(s)) return s;
  throw Error(ErrorCode::kConfig, "unknown trial state '" + name + "' in the study database");
}

StudyStore::StudyStore(const std::string& path) {
  sqlite::OpenOptions options;
  options.description = "study database";
  db_ = std::make_unique<sqlite::Database>(path, options);
  db_->exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db_->exec("CREATE TABLE IF NOT EXISTS trials(number INTEGER PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT NULL,"
            " value REAL, run_dir TEXT NOT NULL, pid INTEGER DEFAULT 0, attempts INTEGER DEFAULT 0,"
            " started REAL DEFAULT 0, finished REAL DEFAULT 0, message TEXT DEFAULT '')");
  db_->exec("CREATE TABLE IF NOT EXISTS epochs(trial INTEGER NOT NULL, step INTEGER NOT NULL, value REAL NOT NULL,"
            " record TEXT NOT NULL, PRIMARY KEY(trial, step))");
}

StudyStore::~StudyStore() = default;

void StudyStore::set_meta(const std::string& key, const std::string& value) {
  Statement(*db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2")
      .bind(1, key).bind(2, value).run();
}

std::optional<std::string> StudyStore::meta(const std::string& key) const {
  Statement s(*db_, "SELECT value FROM meta WHERE key = ?1");
  s.bind(1, key);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

int StudyStore::add_trial(const nlohmann::json& params, const std::string& run_dir) {
  // One statement: the number and the insert are atomic.
  Statement s(*db_, "INSERT INTO trials(number, state, params, run_dir) "
                   "SELECT COALESCE(MAX(number) + 1, 0), 'pending', ?1, ?2 FROM trials RETURNING number");
  s.bind(1, params.dump()).bind(2, run_dir);
  FACEAGE_ENSURE(s.step(), "INSERT ... RETURNING gave no row");
  const int number = s.integer(0);
  s.run();
  return number;
}

void StudyStore::mark_running(int number, int pid) {
  Statement(*db_, "UPDATE trials SET state = 'running', pid = ?2, attempts = attempts + 1, started = ?3 WHERE number = ?1")
      .bind(1, number).bind(2, pid).bind(3, unix_now()).run();
}

void StudyStore::add_epoch(int number, int step, double value, const std::string& record) {
  Statement(*db_, "INSERT OR REPLACE INTO epochs(trial, step, value, record) VALUES(?1, ?2, ?3, ?4)")
      .bind(1, number).bind(2, step).bind(3, value).bind(4, record).run();
}

void StudyStore::finish(int number, TrialState state, std::optional<double> value, const std::string& message) {
  Statement(*db_, "UPDATE trials SET state = ?2, value = ?3, finished = ?4, message = ?5, pid = 0 WHERE number = ?1")
      .bind(1, number).bind(2, std::string(trial_state_name(state))).bind(3, value).bind(4, unix_now()).bind(5, message).run();
}

std::vector<int> StudyStore::requeue_interrupted() {
  std::vector<int> numbers;
  db_->transaction([&] {
    {
      Statement s(*db_, "SELECT number FROM trials WHERE state = 'running' ORDER BY number");
      while (s.step()) numbers.push_back(s.integer(0));
    }
    db_->exec("DELETE FROM epochs WHERE trial IN (SELECT number FROM trials WHERE state = 'running')");
    db_->exec("UPDATE trials SET state = 'pending', pid = 0, message = 'restarted after an interrupted run' "
              "WHERE state = 'running'");
  });
  return numbers;
}

std::vector<TrialRecord> StudyStore::trials(bool with_epochs) const {
  std::vector<TrialRecord> out;
  std::map<int, std::size_t> index;
  {
    Statement s(*db_, "SELECT number, state, params, value, run_dir, attempts, started, finished, message "
                     "FROM trials ORDER BY number");
    while (s.step()) {
      TrialRecord r;
      r.number = s.integer(0);
      r.state = parse_trial_state(s.text(1));
      try {
        r.params = nlohmann::json::parse(s.text(2));
      } catch (const nlohmann::json::exception&) {
        throw Error(ErrorCode::kConfig, "trial " + std::to_string(r.number) + " has unreadable parameters in " + db_->path());
      }
      if (!s.null(3)) r.value = s.real(3);
      r.run_dir = s.text(4);
      r.attempts = s.integer(5);
      r.started = s.real(6);
      r.finished = s.real(7);
      r.message = s.text(8);
      index[r.number] = out.size();
      out.push_back(std::move(r));
    }
  }
  if (with_epochs) {
    Statement s(*db_, "SELECT trial, step, value, record FROM epochs ORDER BY trial, step");
    while (s.step()) {
      auto it = index.find(s.integer(0));
      if (it != index.end()) out[it->second].epochs.push_back({s.integer(1), s.real(2), s.text(3)});
    }
  }
  return out;
}

int StudyStore::count() const {
  Statement s(*db_, "SELECT COUNT(*) FROM trials");
  s.step();
  return s.integer(0);
}

}  // namespace faceage::tune
