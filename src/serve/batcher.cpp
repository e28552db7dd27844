#include "faceage/serve/batcher.hpp"

#include "faceage/core/check.hpp"

namespace faceage::serve {

void validate(const BatcherOptions& options) {
  FACEAGE_CHECK(options.max_batch_size >= 1, ErrorCode::kInvalidArgument,
                "max_batch_size must be >= 1, got " << options.max_batch_size);
  FACEAGE_CHECK(options.max_wait_ms >= 0, ErrorCode::kInvalidArgument,
                "max_wait_ms must be >= 0, got " << options.max_wait_ms);
}

DynamicBatcher::Ticket& DynamicBatcher::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->withdraw();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

DynamicBatcher::Ticket::~Ticket() {
  if (owner_) owner_->withdraw();
}

DynamicBatcher::DynamicBatcher(const BatcherOptions& options, RunFn run, BatchObserver observer)
    : options_(options), run_(std::move(run)), observer_(std::move(observer)) {
  validate(options_);
  FACEAGE_CHECK(static_cast<bool>(run_), ErrorCode::kInvalidArgument, "DynamicBatcher needs a run function");
  thread_ = std::thread([this] { loop(); });
}

DynamicBatcher::~DynamicBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

DynamicBatcher::Ticket DynamicBatcher::announce() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++announced_;
  return Ticket(this);
}

void DynamicBatcher::withdraw() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (announced_ > 0) --announced_;
  }
  // A batch may be waiting for this request; it no longer needs to.
  cv_.notify_all();
}

std::vector<infer::CropAnswer> DynamicBatcher::run(std::vector<cv::Mat> crops) {
  Ticket none;
  return run(std::move(crops), none);
}

std::vector<infer::CropAnswer> DynamicBatcher::run(std::vector<cv::Mat> crops, Ticket& ticket, double* queue_seconds) {
  if (crops.empty()) {
    if (queue_seconds) *queue_seconds = 0;
    return {};
  }
  std::future<std::vector<infer::CropAnswer>> future;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ticket.owner_ == this) {
      ticket.owner_ = nullptr;  // the announcement is fulfilled by queueing
      if (announced_ > 0) --announced_;
    }
    Pending pending;
    pending.crops = std::move(crops);
    pending.queued = std::chrono::steady_clock::now();
    pending.queue_seconds = queue_seconds;
    future = pending.promise.get_future();
    queue_.push_back(std::move(pending));
  }
  cv_.notify_all();
  return future.get();
}

void DynamicBatcher::loop() {
  const auto max_wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(options_.max_wait_ms));
  const std::size_t max_batch = static_cast<std::size_t>(options_.max_batch_size);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained

    // Wait for more requests while the batch has room, time remains, and announced requests
    // may still join; a lone request (nothing announced) runs at once.
    const auto deadline = queue_.front().queued + max_wait;
    auto queued_crops = [&] {
      std::size_t total = 0;
      for (const auto& p : queue_) total += p.crops.size();
      return total;
    };
    cv_.wait_until(lock, deadline, [&] { return stopping_ || announced_ == 0 || queued_crops() >= max_batch; });

    // Take whole requests while they fit (always at least one).
    std::vector<Pending> batch;
    std::size_t total = 0;
    while (!queue_.empty() && (batch.empty() || total + queue_.front().crops.size() <= max_batch)) {
      total += queue_.front().crops.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();

    const auto started = std::chrono::steady_clock::now();
    std::vector<cv::Mat> crops;
    crops.reserve(total);
    for (auto& p : batch) {
      if (p.queue_seconds) *p.queue_seconds = std::chrono::duration<double>(started - p.queued).count();
      // cv::Mat copies share pixels: no image data is copied here.
      crops.insert(crops.end(), p.crops.begin(), p.crops.end());
    }
    std::vector<infer::CropAnswer> answers;
    try {
      answers = run_(crops);
      FACEAGE_ENSURE(answers.size() == crops.size(),
                     "the model returned " << answers.size() << " answers for " << crops.size() << " crops");
    } catch (...) {
      auto error = std::current_exception();
      for (auto& p : batch) p.promise.set_exception(error);
      lock.lock();
      continue;
    }
    const BatchStats stats{crops.size(), batch.size(),
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
    std::size_t offset = 0;
    for (auto& p : batch) {
      const auto n = static_cast<std::ptrdiff_t>(p.crops.size());
      const auto first = answers.begin() + static_cast<std::ptrdiff_t>(offset);
      p.promise.set_value(std::vector<infer::CropAnswer>(first, first + n));
      offset += p.crops.size();
    }
    if (observer_) {
      try {
        observer_(stats);
      } catch (...) {
        // Metrics must never take the batcher down.
      }
    }
    lock.lock();
  }
}

}  // namespace faceage::serve
