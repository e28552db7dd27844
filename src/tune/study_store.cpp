#include "faceage/tune/study_store.hpp"

#include <chrono>
#include <map>

#include <sqlite3.h>

#include "faceage/core/check.hpp"

namespace faceage::tune {
namespace {

// A prepared statement that finalises itself; errors name the database file.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int v) { return check(sqlite3_bind_int(stmt_, i, v)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(int i, std::optional<double> v) { return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i)); }
  // true while rows come back.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  void run() { while (step()) {} }
  int integer(int c) const { return sqlite3_column_int(stmt_, c); }
  double real(int c) const { return sqlite3_column_double(stmt_, c); }
  bool null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(stmt_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : "";
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
    return *this;
  }
  [[noreturn]] void fail(const char* what) {
    throw Error(ErrorCode::kIo, std::string("study database ") + path_ + ": " + what + " failed: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string path_;
};

}  // namespace

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

StudyStore::StudyStore(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kIo, "cannot open study database " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  exec("CREATE TABLE IF NOT EXISTS trials(number INTEGER PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT NULL,"
       " value REAL, run_dir TEXT NOT NULL, pid INTEGER DEFAULT 0, attempts INTEGER DEFAULT 0,"
       " started REAL DEFAULT 0, finished REAL DEFAULT 0, message TEXT DEFAULT '')");
  exec("CREATE TABLE IF NOT EXISTS epochs(trial INTEGER NOT NULL, step INTEGER NOT NULL, value REAL NOT NULL,"
       " record TEXT NOT NULL, PRIMARY KEY(trial, step))");
}

StudyStore::~StudyStore() { sqlite3_close(db_); }

void StudyStore::exec(const std::string& sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw Error(ErrorCode::kIo, "study database " + path_ + ": " + message);
  }
}

void StudyStore::set_meta(const std::string& key, const std::string& value) {
  Statement(db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2", path_)
      .bind(1, key).bind(2, value).run();
}

std::optional<std::string> StudyStore::meta(const std::string& key) const {
  Statement s(db_, "SELECT value FROM meta WHERE key = ?1", path_);
  s.bind(1, key);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

int StudyStore::add_trial(const nlohmann::json& params, const std::string& run_dir) {
  // One statement: the number and the insert are atomic.
  Statement s(db_, "INSERT INTO trials(number, state, params, run_dir) "
                   "SELECT COALESCE(MAX(number) + 1, 0), 'pending', ?1, ?2 FROM trials RETURNING number", path_);
  s.bind(1, params.dump()).bind(2, run_dir);
  FACEAGE_ENSURE(s.step(), "INSERT ... RETURNING gave no row");
  const int number = s.integer(0);
  s.run();
  return number;
}

void StudyStore::mark_running(int number, int pid) {
  Statement(db_, "UPDATE trials SET state = 'running', pid = ?2, attempts = attempts + 1, started = ?3 WHERE number = ?1", path_)
      .bind(1, number).bind(2, pid).bind(3, unix_now()).run();
}

void StudyStore::add_epoch(int number, int step, double value, const std::string& record) {
  Statement(db_, "INSERT OR REPLACE INTO epochs(trial, step, value, record) VALUES(?1, ?2, ?3, ?4)", path_)
      .bind(1, number).bind(2, step).bind(3, value).bind(4, record).run();
}

void StudyStore::finish(int number, TrialState state, std::optional<double> value, const std::string& message) {
  Statement(db_, "UPDATE trials SET state = ?2, value = ?3, finished = ?4, message = ?5, pid = 0 WHERE number = ?1", path_)
      .bind(1, number).bind(2, std::string(trial_state_name(state))).bind(3, value).bind(4, unix_now()).bind(5, message).run();
}

std::vector<int> StudyStore::requeue_interrupted() {
  std::vector<int> numbers;
  exec("BEGIN IMMEDIATE");
  try {
    {
      Statement s(db_, "SELECT number FROM trials WHERE state = 'running' ORDER BY number", path_);
      while (s.step()) numbers.push_back(s.integer(0));
    }
    exec("DELETE FROM epochs WHERE trial IN (SELECT number FROM trials WHERE state = 'running')");
    exec("UPDATE trials SET state = 'pending', pid = 0, message = 'restarted after an interrupted run' "
         "WHERE state = 'running'");
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return numbers;
}

std::vector<TrialRecord> StudyStore::trials(bool with_epochs) const {
  std::vector<TrialRecord> out;
  std::map<int, std::size_t> index;
  {
    Statement s(db_, "SELECT number, state, params, value, run_dir, attempts, started, finished, message "
                     "FROM trials ORDER BY number", path_);
    while (s.step()) {
      TrialRecord r;
      r.number = s.integer(0);
      r.state = parse_trial_state(s.text(1));
      try {
        r.params = nlohmann::json::parse(s.text(2));
      } catch (const nlohmann::json::exception&) {
        throw Error(ErrorCode::kConfig, "trial " + std::to_string(r.number) + " has unreadable parameters in " + path_);
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
    Statement s(db_, "SELECT trial, step, value, record FROM epochs ORDER BY trial, step", path_);
    while (s.step()) {
      auto it = index.find(s.integer(0));
      if (it != index.end()) out[it->second].epochs.push_back({s.integer(1), s.real(2), s.text(3)});
    }
  }
  return out;
}

int StudyStore::count() const {
  Statement s(db_, "SELECT COUNT(*) FROM trials", path_);
  s.step();
  return s.integer(0);
}

}  // namespace faceage::tune
