#pragma once
// Private to infer: the bounded pool of face pipelines behind Predictor::locate_faces.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "faceage/face/face_pipeline.hpp"

namespace faceage::infer {

// Face pipelines are not thread-safe and can be large (dlib's landmark model is ~100 MB each), so
// at most `limit` exist; callers beyond that queue for one. Hand-off is first come, first served:
// a thread that releases a pipeline and comes straight back (an HTTP worker with its next
// keep-alive request) must not barge ahead of others (that starves some requests for seconds).
class PipelinePool {
 public:
  PipelinePool(const face::FacePipelineOptions& options, std::size_t limit);
  // Builds every pipeline now, in parallel, so a bad detector fails here and no caller waits for
  // a detector to load later. Rethrows the first build error.
  void build_all();
  // Builds one pipeline now (a bad detector name fails at start-up) and keeps it idle.
  void build_one();

  // Runs `pipeline.process(rgb, label)` on a lent pipeline; blocks while all are lent.
  std::vector<face::FaceRecord> process(const cv::Mat& rgb, const std::string& label);

  const face::FacePipelineOptions& options() const { return options_; }
  std::size_t limit() const { return limit_; }
  std::size_t created() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return created_;
  }

 private:
  std::unique_ptr<face::FacePipeline> acquire();
  void release(std::unique_ptr<face::FacePipeline> pipeline);
  std::unique_ptr<face::FacePipeline> create(std::unique_lock<std::mutex>& lock);

  struct Waiter {
    std::condition_variable ready;
    std::unique_ptr<face::FacePipeline> pipeline;
    bool may_create = false;  // handed the right to build one (a build failed and freed a slot)
  };
  face::FacePipelineOptions options_;
  std::size_t limit_ = 1;
  std::size_t created_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<face::FacePipeline>> idle_;
  std::deque<Waiter*> waiters_;
};

}  // namespace faceage::infer
