#pragma once
// A thin RAII layer over SQLite for the stores that keep state in a database file (tuning studies,
// the model registry, the prediction log). Every failure is a faceage::Error (kIo) that names the
// file. A Database is not thread-safe; each thread that needs one opens its own.
#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace faceage::sqlite {

struct OpenOptions {
  bool read_only = false;             // read-only: the file must exist (kNotFound otherwise)
  bool wal = true;                    // journal_mode=WAL: readers never block the writer
  std::string synchronous = "FULL";   // FULL survives power loss; NORMAL is enough for a log
  int busy_timeout_ms = 5000;
  std::string description = "database";  // how errors name the file ("study database", ...)
};

class Database {
 public:
  Database(const std::string& path, const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  sqlite3* handle() const { return db_; }
  std::int64_t last_insert_rowid() const;
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(const std::string& what) const;  // kIo naming the file and SQLite's message

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it throws).
  template <typename Body>
  void transaction(Body&& body) {
    exec("BEGIN IMMEDIATE");
    try {
      body();
      exec("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }

 private:
  void rollback() noexcept;
  sqlite3* db_ = nullptr;
  std::string path_, description_;
};

// A prepared statement that finalises itself. Columns and parameters are numbered as SQLite does
// (parameters from 1, columns from 0).
class Statement {
 public:
  Statement(const Database& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, std::optional<double> v);
  Statement& bind_null(int i);
  // true while rows come back.
  bool step();
  void run() {
    while (step()) {}
  }
  // Makes the statement ready to run again with new bindings.
  void reset();
  int integer(int c) const;
  std::int64_t integer64(int c) const;
  double real(int c) const;
  bool null(int c) const;
  std::string text(int c) const;

 private:
  Statement& check(int rc);
  const Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace faceage::sqlite
