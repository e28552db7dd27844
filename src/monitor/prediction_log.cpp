#include "faceage/monitor/prediction_log.hpp"

#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/sqlite.hpp"

namespace faceage::monitor {
namespace {

namespace fs = std::filesystem;
using sqlite::Statement;

const char* const kDescription = "prediction log";

std::unique_ptr<sqlite::Database> open_log_for_writing(const std::string& path) {
  sqlite::OpenOptions options;
  options.synchronous = "NORMAL";  // in WAL mode: a power cut may lose the last commits, never corrupt
  options.description = kDescription;
  auto db = std::make_unique<sqlite::Database>(path, options);
  db->exec("CREATE TABLE IF NOT EXISTS requests(id INTEGER PRIMARY KEY, time REAL NOT NULL, request_id TEXT NOT NULL,"
           " model_version TEXT NOT NULL, latency_ms REAL NOT NULL, faces INTEGER NOT NULL)");
  db->exec("CREATE INDEX IF NOT EXISTS requests_time ON requests(time)");
  db->exec("CREATE TABLE IF NOT EXISTS faces(request INTEGER NOT NULL REFERENCES requests(id), face INTEGER NOT NULL,"
           " image_width INTEGER, image_height INTEGER, face_width REAL, face_height REAL, brightness REAL,"
           " contrast REAL, sharpness REAL, colourfulness REAL, grayscale INTEGER, detector_score REAL, pose REAL,"
           " age REAL, interval_width REAL, gender_probability REAL, PRIMARY KEY(request, face))");
  return db;
}

// The database's size as SQLite counts it (pages in FILE and its WAL): what FILE holds once the
// WAL is checkpointed. The WAL file's own size would overcount, as it keeps superseded pages.
std::uint64_t database_bytes(const sqlite::Database& db) {
  Statement count(db, "PRAGMA page_count"), size(db, "PRAGMA page_size");
  count.step();
  size.step();
  return static_cast<std::uint64_t>(count.integer64(0)) * static_cast<std::uint64_t>(size.integer64(0));
}

std::string rotated_name(const std::string& path, int n) { return path + "." + std::to_string(n); }

void read_file_into(const std::string& path, const TimeWindow& window, std::vector<PredictionRecord>& out) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.description = kDescription;
  sqlite::Database db(path, options);
  Statement s(db,
              "SELECT r.id, r.time, r.request_id, r.model_version, r.latency_ms, f.face, f.image_width, f.image_height,"
              " f.face_width, f.face_height, f.brightness, f.contrast, f.sharpness, f.colourfulness, f.grayscale,"
              " f.detector_score, f.pose, f.age, f.interval_width, f.gender_probability"
              " FROM requests r LEFT JOIN faces f ON f.request = r.id"
              " WHERE (?1 IS NULL OR r.time >= ?1) AND (?2 IS NULL OR r.time <= ?2) ORDER BY r.id, f.face");
  s.bind(1, window.since).bind(2, window.until);
  std::int64_t current = -1;
  while (s.step()) {
    const std::int64_t id = s.integer64(0);
    if (id != current) {
      current = id;
      PredictionRecord r;
      r.time = s.real(1);
      r.request_id = s.text(2);
      r.model_version = s.text(3);
      r.latency_ms = s.real(4);
      out.push_back(std::move(r));
    }
    if (s.null(5)) continue;  // a request without faces
    LoggedFace f;
    f.input.image_width = s.integer(6);
    f.input.image_height = s.integer(7);
    f.input.face_width = s.real(8);
    f.input.face_height = s.real(9);
    f.input.brightness = s.real(10);
    f.input.contrast = s.real(11);
    f.input.sharpness = s.real(12);
    f.input.colourfulness = s.real(13);
    f.input.grayscale = s.integer(14) != 0;
    if (!s.null(15)) f.input.detector_score = s.real(15);
    if (!s.null(16)) f.input.pose = s.real(16);
    f.output.age = s.real(17);
    f.output.interval_width = s.real(18);
    f.output.gender_probability = s.real(19);
    out.back().faces.push_back(f);
  }
}

}  // namespace

PredictionLogWriter::PredictionLogWriter(PredictionLogOptions options) : options_(std::move(options)) {
  FACEAGE_CHECK(!options_.path.empty(), ErrorCode::kInvalidArgument, "the prediction log needs a file path");
  FACEAGE_CHECK(options_.queue_capacity > 0 && options_.batch_size > 0 && options_.keep_rotated >= 0,
                ErrorCode::kInvalidArgument,
                "prediction log: queue_capacity and batch_size must be positive and keep_rotated >= 0");
  const fs::path parent = fs::path(options_.path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  db_ = open_log_for_writing(options_.path);
  thread_ = std::thread([this] { run(); });
}

PredictionLogWriter::~PredictionLogWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool PredictionLogWriter::log(PredictionRecord record) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) {
      ++counters_.dropped;
      return false;
    }
    queue_.push_back(std::move(record));
  }
  wake_.notify_one();
  return true;
}

void PredictionLogWriter::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && in_flight_ == 0; });
}

PredictionLogCounters PredictionLogWriter::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

std::string PredictionLogWriter::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

void PredictionLogWriter::run() {
  std::vector<PredictionRecord> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      while (!queue_.empty() && batch.size() < options_.batch_size) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
    }
    std::string error;
    try {
      write_batch(batch);
      rotate_if_full();
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A batch is one transaction: it is all written or all lost.
      if (error.empty()) {
        counters_.written += batch.size();
      } else {
        counters_.failed += batch.size();
        last_error_ = error;
      }
      in_flight_ = 0;
    }
    batch.clear();
    idle_.notify_all();
  }
}

void PredictionLogWriter::write_batch(std::vector<PredictionRecord>& batch) {
  if (!db_) db_ = open_log_for_writing(options_.path);  // a failed rotation left none open
  db_->transaction([&] {
    Statement request(*db_, "INSERT INTO requests(time, request_id, model_version, latency_ms, faces) VALUES(?1, ?2, ?3, ?4, ?5)");
    Statement face(*db_,
                   "INSERT INTO faces(request, face, image_width, image_height, face_width, face_height, brightness,"
                   " contrast, sharpness, colourfulness, grayscale, detector_score, pose, age, interval_width,"
                   " gender_probability) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    for (const auto& r : batch) {
      request.reset();
      request.bind(1, r.time).bind(2, r.request_id).bind(3, r.model_version).bind(4, r.latency_ms)
          .bind(5, static_cast<std::int64_t>(r.faces.size())).run();
      const std::int64_t id = db_->last_insert_rowid();
      for (std::size_t i = 0; i < r.faces.size(); ++i) {
        const auto& in = r.faces[i].input;
        const auto& out = r.faces[i].output;
        face.reset();
        face.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, in.image_width).bind(4, in.image_height)
            .bind(5, in.face_width).bind(6, in.face_height).bind(7, in.brightness).bind(8, in.contrast)
            .bind(9, in.sharpness).bind(10, in.colourfulness).bind(11, in.grayscale ? 1 : 0)
            .bind(12, in.detector_score).bind(13, in.pose).bind(14, out.age).bind(15, out.interval_width)
            .bind(16, out.gender_probability).run();
      }
    }
  });
}

void PredictionLogWriter::rotate_if_full() {
  const std::string& path = options_.path;
  if (database_bytes(*db_) < options_.max_bytes) return;
  db_.reset();  // the last connection closing checkpoints the WAL into FILE and removes it
  std::error_code ec;
  if (options_.keep_rotated == 0) {
    fs::remove(path, ec);
  } else {
    fs::remove(rotated_name(path, options_.keep_rotated), ec);
    for (int n = options_.keep_rotated - 1; n >= 1; --n) {
      if (fs::exists(rotated_name(path, n), ec)) fs::rename(rotated_name(path, n), rotated_name(path, n + 1), ec);
    }
    fs::rename(path, rotated_name(path, 1), ec);
  }
  if (ec) throw Error(ErrorCode::kIo, "cannot rotate the prediction log " + path + ": " + ec.message());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counters_.rotations;
  }
  db_ = open_log_for_writing(path);
}

std::vector<std::string> prediction_log_files(const std::string& path) {
  std::vector<std::string> files;
  std::error_code ec;
  // Rotated files are numbered without a limit known to the reader: walk up until a gap.
  int highest = 0;
  while (fs::exists(rotated_name(path, highest + 1), ec)) ++highest;
  for (int n = highest; n >= 1; --n) files.push_back(rotated_name(path, n));
  if (fs::exists(path, ec)) files.push_back(path);
  return files;
}

std::vector<PredictionRecord> read_prediction_log(const std::string& path, const TimeWindow& window,
                                                  bool include_rotated) {
  std::vector<std::string> files;
  if (include_rotated) {
    files = prediction_log_files(path);
  } else if (fs::exists(path)) {
    files.push_back(path);
  }
  if (files.empty())
    throw Error(ErrorCode::kNotFound, "no prediction log at " + path,
                "faceage serve --prediction-log FILE writes one");
  std::vector<PredictionRecord> records;
  for (const auto& file : files) read_file_into(file, window, records);
  return records;
}

std::vector<LoggedFace> logged_faces(const std::vector<PredictionRecord>& records) {
  std::vector<LoggedFace> faces;
  for (const auto& r : records) faces.insert(faces.end(), r.faces.begin(), r.faces.end());
  return faces;
}

}  // namespace faceage::monitor
