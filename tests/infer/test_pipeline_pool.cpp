#include "infer/pipeline_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/error_code.hpp"

namespace faceage::infer {
namespace {

face::FacePipelineOptions crop_options() {
  face::FacePipelineOptions options;
  options.detector = "none";  // the image is the face: cheap pipelines
  return options;
}

TEST(PipelinePool, NeverHoldsMoreThanItsLimitUnderConcurrentCallers) {
  PipelinePool pool(crop_options(), 2);
  const cv::Mat face(120, 120, CV_8UC3, cv::Scalar(90, 120, 150));
  std::atomic<int> faces{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) faces += static_cast<int>(pool.process(face, "face").size());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(faces.load(), 60);
  EXPECT_LE(pool.created(), 2u);
  EXPECT_GE(pool.created(), 1u);
}

TEST(PipelinePool, BuildAllBuildsEverySlotAndABadDetectorFailsAtOnce) {
  PipelinePool pool(crop_options(), 3);
  pool.build_all();
  EXPECT_EQ(pool.created(), 3u);

  auto bad = crop_options();
  bad.detector = "no-such-detector";
  PipelinePool failing(bad, 2);
  EXPECT_EQ(faceage::testing::error_of([&] { failing.build_one(); }), ErrorCode::kNotFound);
  EXPECT_EQ(failing.created(), 0u) << "a failed build frees its slot";
  EXPECT_EQ(faceage::testing::error_of([&] { failing.build_all(); }), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace faceage::infer
