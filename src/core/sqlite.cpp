#include "faceage/core/sqlite.hpp"

#include <sqlite3.h>

#include "faceage/core/error.hpp"

namespace faceage::sqlite {

Database::Database(const std::string& path, const OpenOptions& options)
    : path_(path), description_(options.description) {
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(options.read_only ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot open " + description_ + " " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  try {
    if (!options.read_only) {
      if (options.wal) exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=" + options.synchronous);
    }
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Database::~Database() { sqlite3_close(db_); }

void Database::fail(const std::string& what) const {
  throw Error(ErrorCode::kIo, description_ + " " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void Database::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw Error(ErrorCode::kIo, description_ + " " + path_ + ": " + message);
  }
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

void Database::rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

Statement::Statement(const Database& db, const std::string& sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) db.fail("prepare failed");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::check(int rc) {
  if (rc != SQLITE_OK) db_.fail("bind failed");
  return *this;
}

Statement& Statement::bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
Statement& Statement::bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
Statement& Statement::bind(int i, const std::string& v) {
  return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
}
Statement& Statement::bind(int i, std::optional<double> v) { return v ? bind(i, *v) : bind_null(i); }
Statement& Statement::bind_null(int i) { return check(sqlite3_bind_null(stmt_, i)); }

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) db_.fail("step failed");
  return false;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::integer(int c) const { return sqlite3_column_int(stmt_, c); }
std::int64_t Statement::integer64(int c) const { return sqlite3_column_int64(stmt_, c); }
double Statement::real(int c) const { return sqlite3_column_double(stmt_, c); }
bool Statement::null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
std::string Statement::text(int c) const {
  const auto* p = sqlite3_column_text(stmt_, c);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : "";
}

}  // namespace faceage::sqlite
