#pragma once
// Dynamic batching (Triton's max_batch_size / max_queue_delay): face crops from concurrent
// requests are gathered into one model call. Decoding, detection and alignment stay on the HTTP
// worker threads; only the model call goes through the batcher's single thread.
//
//   DynamicBatcher batcher({.max_batch_size = 16, .max_wait_ms = 5}, run_model);
//   auto ticket = batcher.announce();                  // "a request is on its way"
//   ... decode / detect / align ...
//   std::vector<CropAnswer> answers = batcher.run(std::move(crops), ticket);
//
// A batch closes when it holds max_batch_size crops, when max_wait_ms has passed since its first
// request arrived, or as soon as every announced request has arrived (so a lone request never
// waits). A request is never split; one with more crops than max_batch_size runs alone.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/infer/predictor.hpp"

namespace faceage::serve {

struct BatcherOptions {
  int max_batch_size = 16;   // crops per model call, >= 1
  double max_wait_ms = 5.0;  // >= 0
};
void validate(const BatcherOptions& options);  // kInvalidArgument naming the key

struct BatchStats {
  std::size_t crops = 0;     // crops in the model call
  std::size_t requests = 0;  // requests they came from
  double run_seconds = 0;    // model call duration
};

class DynamicBatcher {
 public:
  using RunFn = std::function<std::vector<infer::CropAnswer>(const std::vector<cv::Mat>&)>;
  // Called on the batcher thread after every model call (metrics); must not throw.
  using BatchObserver = std::function<void(const BatchStats&)>;

  DynamicBatcher(const BatcherOptions& options, RunFn run, BatchObserver observer = {});
  // Finishes every queued request, then joins the thread.
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Announces a request that will call run() soon; hold the ticket until then (RAII: a request
  // that fails before run() withdraws its announcement when the ticket is destroyed).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();

   private:
    friend class DynamicBatcher;
    explicit Ticket(DynamicBatcher* owner) : owner_(owner) {}
    DynamicBatcher* owner_ = nullptr;
  };
  Ticket announce();

  // Queues the crops and blocks until their answers are back (in crop order). `queue_seconds`
  // receives the time spent waiting before the model call. Rethrows the model call's error.
  std::vector<infer::CropAnswer> run(std::vector<cv::Mat> crops, Ticket& ticket, double* queue_seconds = nullptr);
  std::vector<infer::CropAnswer> run(std::vector<cv::Mat> crops);  // without an announcement

  const BatcherOptions& options() const { return options_; }

 private:
  struct Pending {
    std::vector<cv::Mat> crops;
    std::promise<std::vector<infer::CropAnswer>> promise;
    std::chrono::steady_clock::time_point queued;
    double* queue_seconds = nullptr;
  };
  void withdraw();
  void loop();

  BatcherOptions options_;
  RunFn run_;
  BatchObserver observer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::size_t announced_ = 0;  // requests announced and not yet queued
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace faceage::serve
