#pragma once
// The prediction log: one SQLite file (WAL) with a row per request and a row per answered face.
// It holds statistics of the input and the outputs, never the image.
//   requests(id, time, request_id, model_version, latency_ms, faces)
//   faces(request, face, image_width, image_height, face_width, face_height, brightness, contrast,
//         sharpness, colourfulness, grayscale, detector_score, pose, age, interval_width,
//         gender_probability)
//   feedback(request, face, time, age, gender)   true labels sent later for a logged face
// Size is bounded: when FILE passes max_bytes it is renamed FILE.1 (FILE.1 -> FILE.2, ...; the
// oldest beyond keep_rotated is deleted) and a fresh FILE starts.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "faceage/monitor/face_stats.hpp"
#include "faceage/monitor/time.hpp"

namespace faceage::sqlite {
class Database;
}

namespace faceage::monitor {

struct PredictionRecord {
  double time = 0;  // unix seconds, when the request arrived
  std::string request_id;
  std::string model_version;
  double latency_ms = 0;
  std::vector<LoggedFace> faces;  // empty when no face was answered
};

// A true label for one logged face (POST /v1/feedback). `face` counts the faces of the request
// in the order they were answered (image 0's faces, then image 1's, ...).
struct Feedback {
  std::string request_id;
  int face = 0;
  double age = 0;          // years, [0, 150]
  std::string gender;      // "male", "female" or "" (not given)
  double time = 0;         // unix seconds
};

// What the feedback was stored beside: the logged prediction.
struct FeedbackReceipt {
  std::string model_version;
  LoggedFace predicted;
};

// A logged face with its true label, as read back.
struct LabelledFace {
  double time = 0;  // of the request
  std::string request_id, model_version;
  int face = 0;
  LoggedFace predicted;
  double true_age = 0;
  std::string true_gender;  // "" unknown
};

struct PredictionLogOptions {
  std::string path;
  std::uint64_t max_bytes = 64ull << 20;  // per file (SQLite's page count), checked after each batch
  int keep_rotated = 3;                    // FILE.1 .. FILE.keep_rotated are kept
  std::size_t queue_capacity = 10000;      // records waiting for the writer; beyond: dropped
  std::size_t batch_size = 512;            // records per transaction
};

struct PredictionLogCounters {
  std::uint64_t written = 0;    // records committed
  std::uint64_t dropped = 0;    // refused because the queue was full (or the writer stopped)
  std::uint64_t failed = 0;     // lost to a write error (see last_error)
  std::uint64_t rotations = 0;
};

// Writes records on its own thread so that a request never waits for the disk: log() only moves
// the record into a bounded queue. Thread-safe.
class PredictionLogWriter {
 public:
  // Opens (creating) FILE and its tables now, so a bad path fails at startup: kIo.
  explicit PredictionLogWriter(PredictionLogOptions options);
  // Writes what is queued, then stops.
  ~PredictionLogWriter();
  PredictionLogWriter(const PredictionLogWriter&) = delete;
  PredictionLogWriter& operator=(const PredictionLogWriter&) = delete;

  // Never blocks on I/O. false when the record was dropped (queue full), counted in `dropped`.
  bool log(PredictionRecord record);
  // Blocks until every record queued before the call is committed (or failed).
  void flush();
  // Stores a true label beside the logged face, replacing an earlier one for that face. Runs on the
  // writer thread after every record queued before the call, so a request answered just before
  // is found; blocks the caller (feedback is not on the prediction path). The request is looked up
  // in FILE, then in FILE.1, FILE.2, ...; a request id logged twice (a client reusing
  // X-Request-Id) means its latest request. kNotFound for an unknown request id, kInvalidArgument
  // for a face the request does not have or a label out of range, kIo for a write failure.
  FeedbackReceipt add_feedback(const Feedback& feedback);
  PredictionLogCounters counters() const;
  std::string last_error() const;
  const PredictionLogOptions& options() const { return options_; }

 private:
  struct FeedbackTask {
    Feedback feedback;
    std::uint64_t after = 0;  // records enqueued before it; it runs once they are processed
    std::promise<FeedbackReceipt> promise;
  };
  void run();
  void run_feedback(std::deque<FeedbackTask>& ready);
  FeedbackReceipt store_feedback(const Feedback& feedback);
  void write_batch(std::vector<PredictionRecord>& batch);
  void rotate_if_full();

  PredictionLogOptions options_;
  std::unique_ptr<sqlite::Database> db_;  // used by the writer thread only (after construction)
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<PredictionRecord> queue_;
  std::deque<FeedbackTask> feedback_;
  std::uint64_t enqueued_ = 0, processed_ = 0;  // records ever queued / taken and written or failed
  bool stopping_ = false;
  std::size_t in_flight_ = 0;  // records taken from the queue, not yet committed
  PredictionLogCounters counters_;
  std::string last_error_;
  std::thread thread_;
};

// FILE's rotated predecessors and FILE itself, oldest first, those that exist.
std::vector<std::string> prediction_log_files(const std::string& path);
// Records with time inside `window`, oldest first, from FILE and (include_rotated) FILE.N .. FILE.1.
// kNotFound when no file exists; kIo for an unreadable one.
std::vector<PredictionRecord> read_prediction_log(const std::string& path, const TimeWindow& window = {},
                                                  bool include_rotated = true);
// Every logged face that has feedback, for requests with time inside `window`, oldest first.
// kNotFound when no file exists.
std::vector<LabelledFace> read_feedback(const std::string& path, const TimeWindow& window = {},
                                        bool include_rotated = true);
// All faces of the records, in order.
std::vector<LoggedFace> logged_faces(const std::vector<PredictionRecord>& records);

}  // namespace faceage::monitor
