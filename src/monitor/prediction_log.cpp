#include "faceage/monitor/prediction_log.hpp"

#include <cmath>
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
  // Feedback finds its request by the id clients know.
  db->exec("CREATE INDEX IF NOT EXISTS requests_request_id ON requests(request_id)");
  db->exec("CREATE TABLE IF NOT EXISTS feedback(request INTEGER NOT NULL REFERENCES requests(id), face INTEGER NOT NULL,"
           " time REAL NOT NULL, age REAL NOT NULL, gender TEXT, PRIMARY KEY(request, face))");
  return db;
}

// The face columns of a SELECT, starting at column `c`: image_width ... gender_probability.
constexpr const char* kFaceColumns =
    "f.image_width, f.image_height, f.face_width, f.face_height, f.brightness, f.contrast, f.sharpness,"
    " f.colourfulness, f.grayscale, f.detector_score, f.pose, f.age, f.interval_width, f.gender_probability";

LoggedFace read_face(const Statement& s, int c) {
  LoggedFace f;
  f.input.image_width = s.integer(c);
  f.input.image_height = s.integer(c + 1);
  f.input.face_width = s.real(c + 2);
  f.input.face_height = s.real(c + 3);
  f.input.brightness = s.real(c + 4);
  f.input.contrast = s.real(c + 5);
  f.input.sharpness = s.real(c + 6);
  f.input.colourfulness = s.real(c + 7);
  f.input.grayscale = s.integer(c + 8) != 0;
  if (!s.null(c + 9)) f.input.detector_score = s.real(c + 9);
  if (!s.null(c + 10)) f.input.pose = s.real(c + 10);
  f.output.age = s.real(c + 11);
  f.output.interval_width = s.real(c + 12);
  // NULL: the model had no gender head (NaN was logged, which SQLite stores as NULL).
  f.output.gender_probability = s.null(c + 13) ? std::nan("") : s.real(c + 13);
  return f;
}

bool has_table(const sqlite::Database& db, const char* table) {
  Statement s(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  s.bind(1, std::string(table));
  return s.step();
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
  Statement s(db, std::string("SELECT r.id, r.time, r.request_id, r.model_version, r.latency_ms, f.face, ") + kFaceColumns +
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
    out.back().faces.push_back(read_face(s, 6));
  }
}

void read_feedback_from(const std::string& path, const TimeWindow& window, std::vector<LabelledFace>& out) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.description = kDescription;
  sqlite::Database db(path, options);
  if (!has_table(db, "feedback")) return;  // a log written before feedback existed
  Statement s(db, std::string("SELECT r.time, r.request_id, r.model_version, b.face, b.age, b.gender, ") + kFaceColumns +
                     " FROM feedback b JOIN requests r ON r.id = b.request JOIN faces f ON f.request = b.request AND"
                     " f.face = b.face WHERE (?1 IS NULL OR r.time >= ?1) AND (?2 IS NULL OR r.time <= ?2)"
                     " ORDER BY r.id, b.face");
  s.bind(1, window.since).bind(2, window.until);
  while (s.step()) {
    LabelledFace l;
    l.time = s.real(0);
    l.request_id = s.text(1);
    l.model_version = s.text(2);
    l.face = s.integer(3);
    l.true_age = s.real(4);
    l.true_gender = s.null(5) ? "" : s.text(5);
    l.predicted = read_face(s, 6);
    out.push_back(std::move(l));
  }
}

// Looks the request up in `db` and stores the label there; false when the request is not in it.
bool store_feedback_in(sqlite::Database& db, const Feedback& feedback, FeedbackReceipt& receipt) {
  bool found = false;
  db.transaction([&] {
    Statement request(db, "SELECT id, model_version, faces FROM requests WHERE request_id = ?1 ORDER BY id DESC LIMIT 1");
    request.bind(1, feedback.request_id);
    if (!request.step()) return;
    found = true;
    const std::int64_t id = request.integer64(0);
    const int faces = request.integer(2);
    FACEAGE_CHECK(feedback.face < faces, ErrorCode::kInvalidArgument,
                  "request " << feedback.request_id << " answered " << faces << " face(s); there is no face "
                             << feedback.face << " (faces count from 0 in the order of the answer)");
    receipt.model_version = request.text(1);
    Statement face(db, std::string("SELECT ") + kFaceColumns + " FROM faces f WHERE f.request = ?1 AND f.face = ?2");
    face.bind(1, id).bind(2, feedback.face);
    FACEAGE_CHECK(face.step(), ErrorCode::kInternal, "request " << feedback.request_id << " lacks its face rows");
    receipt.predicted = read_face(face, 0);
    Statement insert(db, "INSERT OR REPLACE INTO feedback(request, face, time, age, gender) VALUES(?1, ?2, ?3, ?4, ?5)");
    insert.bind(1, id).bind(2, feedback.face).bind(3, feedback.time).bind(4, feedback.age);
    if (feedback.gender.empty()) insert.bind_null(5);
    else insert.bind(5, feedback.gender);
    insert.run();
  });
  return found;
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
    ++enqueued_;
  }
  wake_.notify_one();
  return true;
}

FeedbackReceipt PredictionLogWriter::add_feedback(const Feedback& feedback) {
  FACEAGE_CHECK(!feedback.request_id.empty(), ErrorCode::kInvalidArgument, "feedback needs a request_id");
  FACEAGE_CHECK(feedback.face >= 0, ErrorCode::kInvalidArgument, "feedback face must be >= 0, got " << feedback.face);
  FACEAGE_CHECK(std::isfinite(feedback.age) && feedback.age >= 0 && feedback.age <= 150, ErrorCode::kInvalidArgument,
                "feedback age must be in [0, 150] years, got " << feedback.age);
  FACEAGE_CHECK(feedback.gender.empty() || feedback.gender == "male" || feedback.gender == "female",
                ErrorCode::kInvalidArgument, "feedback gender must be \"male\" or \"female\", got \"" << feedback.gender << "\"");
  std::future<FeedbackReceipt> result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    FACEAGE_CHECK(!stopping_, ErrorCode::kNotReady, "the prediction log is closing");
    FeedbackTask task;
    task.feedback = feedback;
    task.after = enqueued_;
    result = task.promise.get_future();
    feedback_.push_back(std::move(task));
  }
  wake_.notify_one();
  return result.get();  // rethrows the writer's error
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
    std::deque<FeedbackTask> ready;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !feedback_.empty(); });
      if (queue_.empty() && feedback_.empty()) return;  // stopping, and everything is written
      while (!queue_.empty() && batch.size() < options_.batch_size) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
      // Feedback whose preceding records are all processed (or will be by this batch) runs after it.
      const std::uint64_t done_after_batch = processed_ + batch.size();
      while (!feedback_.empty() && feedback_.front().after <= done_after_batch) {
        ready.push_back(std::move(feedback_.front()));
        feedback_.pop_front();
      }
    }
    std::string error;
    if (!batch.empty()) {
      try {
        write_batch(batch);
        rotate_if_full();
      } catch (const std::exception& e) {
        error = e.what();
      }
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
      processed_ += batch.size();
      in_flight_ = 0;
    }
    batch.clear();
    run_feedback(ready);
    idle_.notify_all();
  }
}

void PredictionLogWriter::run_feedback(std::deque<FeedbackTask>& ready) {
  for (auto& task : ready) {
    try {
      task.promise.set_value(store_feedback(task.feedback));
    } catch (...) {
      task.promise.set_exception(std::current_exception());
    }
  }
}

FeedbackReceipt PredictionLogWriter::store_feedback(const Feedback& feedback) {
  FeedbackReceipt receipt;
  if (!db_) db_ = open_log_for_writing(options_.path);
  if (store_feedback_in(*db_, feedback, receipt)) return receipt;
  // Older requests live in the rotated files; rotation runs on this thread, so none moves meanwhile.
  for (int n = 1; n <= options_.keep_rotated; ++n) {
    const std::string rotated = rotated_name(options_.path, n);
    std::error_code ec;
    if (!fs::exists(rotated, ec)) break;
    auto db = open_log_for_writing(rotated);
    if (store_feedback_in(*db, feedback, receipt)) return receipt;
  }
  throw Error(ErrorCode::kNotFound, "no logged request has id '" + feedback.request_id + "'",
              "use the request_id of a prediction answered by this server (rotated-out logs are gone)");
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

std::vector<LabelledFace> read_feedback(const std::string& path, const TimeWindow& window, bool include_rotated) {
  std::vector<std::string> files;
  if (include_rotated) {
    files = prediction_log_files(path);
  } else if (fs::exists(path)) {
    files.push_back(path);
  }
  if (files.empty()) throw Error(ErrorCode::kNotFound, "no prediction log at " + path);
  std::vector<LabelledFace> out;
  for (const auto& file : files) read_feedback_from(file, window, out);
  return out;
}

std::vector<LoggedFace> logged_faces(const std::vector<PredictionRecord>& records) {
  std::vector<LoggedFace> faces;
  for (const auto& r : records) faces.insert(faces.end(), r.faces.begin(), r.faces.end());
  return faces;
}

}  // namespace faceage::monitor
