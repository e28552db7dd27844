// Augmentation throughput on a 200x200 aligned crop, single thread.
//   build-X/bench/bench_augment --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/augment/augmenter.hpp"

namespace {

using faceage::augment::Augmenter;
using faceage::augment::Landmarks;

// A real face when Debian's skimage data is installed (astronaut.png, public domain), else noise.
cv::Mat crop() {
  static const cv::Mat image = [] {
    cv::Mat bgr = cv::imread("/usr/lib/python3/dist-packages/skimage/data/astronaut.png", cv::IMREAD_COLOR);
    cv::Mat rgb;
    if (bgr.empty()) {
      rgb.create(200, 200, CV_8UC3);
      cv::randu(rgb, 0, 256);
      cv::GaussianBlur(rgb, rgb, cv::Size(5, 5), 1.5);
      return rgb;
    }
    cv::cvtColor(bgr(cv::Rect(150, 30, 150, 150)), rgb, cv::COLOR_BGR2RGB);
    cv::resize(rgb, rgb, cv::Size(200, 200), 0, 0, cv::INTER_AREA);
    return rgb;
  }();
  return image;
}

const Landmarks kLandmarks{cv::Point2f(70, 85), cv::Point2f(130, 85), cv::Point2f(100, 115), cv::Point2f(78, 145),
                           cv::Point2f(122, 145)};
const char* const kPresets[] = {"none", "light", "medium", "strong", "real_photo"};

void BM_Augment(benchmark::State& state) {
  const std::string name = kPresets[state.range(0)];
  const Augmenter augmenter(faceage::augment::preset(name), static_cast<int>(state.range(1)));
  const cv::Mat image = crop();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto out = augmenter(image, kLandmarks, rng);
    benchmark::DoNotOptimize(out.image.data);
  }
  state.SetLabel(name);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Augment)->ArgsProduct({{0, 1, 2, 3, 4}, {112, 160}})->Unit(benchmark::kMicrosecond);

// Cost of each piece on its own, at 112 output.
void BM_Piece(benchmark::State& state) {
  const Augmenter augmenter({}, 112);
  const cv::Mat image = crop();
  faceage::augment::AugmentParams params;
  const int piece = static_cast<int>(state.range(0));
  const char* labels[] = {"resize",     "warp",           "warp+color", "warp+blur", "warp+jpeg",
                          "warp+erase", "warp+tone",      "warp+downscale", "warp+noise", "warp+grain"};
  params.affine.angle_deg = 7.5;
  params.affine.scale = 1.05;
  if (piece == 0) params.affine = {};
  if (piece == 2) params.color = {true, 1.1, 0.9, 1.2, 0.03};
  if (piece == 3) params.blur = {true, 1.0};
  if (piece == 4) params.jpeg = {true, 60};
  if (piece == 5) params.erasing = {true, cv::Rect(20, 30, 40, 30), faceage::augment::ErasingFill::kNoise, 3};
  if (piece == 6) params.tone = {true, 0.8, {1.1, 1.0, 0.9}, 0.3};
  if (piece == 7) params.resolution = {true, 48};
  if (piece == 8) params.noise = {true, 8.0, 0.0, 1.0, 5};
  if (piece == 9) params.noise = {true, 0.0, 10.0, 2.0, 5};
  for (auto _ : state) {
    auto out = augmenter.apply(image, kLandmarks, params);
    benchmark::DoNotOptimize(out.image.data);
  }
  state.SetLabel(labels[piece]);
}
BENCHMARK(BM_Piece)->DenseRange(0, 9)->Unit(benchmark::kMicrosecond);

}  // namespace

// Single thread, as in a data-loader worker: OpenCV's own thread pool would only add hand-offs on
// images this small (and the loader already runs one worker per core).
int main(int argc, char** argv) {
  cv::setNumThreads(0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
