#include "infer/pipeline_pool.hpp"

#include <algorithm>
#include <exception>
#include <thread>

namespace faceage::infer {

PipelinePool::PipelinePool(const face::FacePipelineOptions& options, std::size_t limit)
    : options_(options), limit_(std::max<std::size_t>(1, limit)) {}

void PipelinePool::build_all() {
  std::vector<std::unique_ptr<face::FacePipeline>> built(limit_);
  std::vector<std::exception_ptr> errors(limit_);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < built.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        built[i] = acquire();
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& pipeline : built) {
    if (pipeline) release(std::move(pipeline));
  }
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

void PipelinePool::build_one() { release(acquire()); }

std::vector<face::FaceRecord> PipelinePool::process(const cv::Mat& rgb, const std::string& label) {
  auto pipeline = acquire();
  try {
    auto records = pipeline->process(rgb, label);
    release(std::move(pipeline));
    return records;
  } catch (...) {
    release(std::move(pipeline));
    throw;
  }
}

std::unique_ptr<face::FacePipeline> PipelinePool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiters_.empty() && !idle_.empty()) {
    auto pipeline = std::move(idle_.back());
    idle_.pop_back();
    return pipeline;
  }
  if (waiters_.empty() && created_ < limit_) return create(lock);
  Waiter waiter;
  waiters_.push_back(&waiter);
  waiter.ready.wait(lock, [&] { return waiter.pipeline != nullptr || waiter.may_create; });
  if (waiter.pipeline) return std::move(waiter.pipeline);
  return create(lock);
}

void PipelinePool::release(std::unique_ptr<face::FacePipeline> pipeline) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->pipeline = std::move(pipeline);
    next->ready.notify_one();
    return;
  }
  idle_.push_back(std::move(pipeline));
}

// Called with the lock held and a free slot; builds outside the lock.
std::unique_ptr<face::FacePipeline> PipelinePool::create(std::unique_lock<std::mutex>& lock) {
  ++created_;
  lock.unlock();
  try {
    return std::make_unique<face::FacePipeline>(options_);
  } catch (...) {
    lock.lock();
    --created_;
    if (!waiters_.empty()) {  // let the next waiter try (and report its own error)
      Waiter* next = waiters_.front();
      waiters_.pop_front();
      next->may_create = true;
      next->ready.notify_one();
    }
    throw;
  }
}

}  // namespace faceage::infer
