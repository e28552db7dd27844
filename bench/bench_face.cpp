// Face module benchmarks: detectors on a UTKFace-sized 200x200 crop and the 512x512 astronaut,
// the alignment warp per face, and detector construction. One OpenCV thread (cv::setNumThreads(1))
// so numbers are per-core. Run: build/bench/bench_face --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/face/align.hpp"
#include "faceage/face/detector.hpp"
#include "faceage/face/face_pipeline.hpp"

namespace {

using namespace faceage::face;

cv::Mat load(const std::string& name) {
  cv::Mat bgr = cv::imread(std::string(FACEAGE_SOURCE_DIR) + "/tests/fixtures/" + name);
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// The shipped YuNet files (models/face/): the input is chosen per image.
std::string yunet_path() {
  const std::string path = std::string(FACEAGE_SOURCE_DIR) + "/models/face";
  return std::filesystem::exists(path) ? path : std::string();
}

DetectorOptions options_for(const std::string& name, bool landmarks) {
  DetectorOptions o;
  if (name == "yunet") o.model_path = yunet_path();
  if (!landmarks) o.landmarks_model = "none";
  return o;
}

void run_detector(benchmark::State& state, const std::string& name, const std::string& image, bool landmarks,
                  int refine_face_size = DetectorOptions{}.refine_face_size) {
  cv::setNumThreads(1);
  if (name == "yunet" && yunet_path().empty()) {
    state.SkipWithError("models/face (the shipped YuNet) not found");
    return;
  }
  const cv::Mat rgb = load(image);
  DetectorOptions options = options_for(name, landmarks);
  options.refine_face_size = refine_face_size;
  auto detector = builtin_detectors().create(name, options);
  std::size_t faces = 0;
  for (auto _ : state) {
    auto out = detector->detect(rgb);
    faces = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["faces"] = static_cast<double>(faces);
}

void BM_YunetDetect200(benchmark::State& s) { run_detector(s, "yunet", "faces/astronaut_crop.jpg", true); }
void BM_YunetDetect512(benchmark::State& s) { run_detector(s, "yunet", "astronaut.png", true); }
// The 200x200 crop's face is ~70 px, 42 px in the first pass's 160x120 input: without the second pass.
void BM_YunetDetect200OnePass(benchmark::State& s) { run_detector(s, "yunet", "faces/astronaut_crop.jpg", true, 0); }
void BM_DlibHogDetect200(benchmark::State& s) { run_detector(s, "dlib-hog", "faces/astronaut_crop.jpg", false); }
void BM_DlibHogDetect512(benchmark::State& s) { run_detector(s, "dlib-hog", "astronaut.png", false); }
void BM_DlibHogLandmarksDetect512(benchmark::State& s) { run_detector(s, "dlib-hog", "astronaut.png", true); }
BENCHMARK(BM_YunetDetect200)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_YunetDetect200OnePass)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_YunetDetect512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DlibHogDetect200)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DlibHogDetect512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DlibHogLandmarksDetect512)->Unit(benchmark::kMillisecond);

void BM_AlignWarp(benchmark::State& state) {
  cv::setNumThreads(1);
  const cv::Mat rgb = load("astronaut.png");
  FaceDetection face;
  face.has_landmarks = true;
  face.landmarks = {cv::Point2f(203.3f, 101.7f), cv::Point2f(246.8f, 103.8f), cv::Point2f(225.f, 127.f),
                    cv::Point2f(200.f, 139.f), cv::Point2f(246.f, 141.f)};
  AlignOptions options;
  for (auto _ : state) {
    cv::Mat crop = align_face(rgb, face, options);
    benchmark::DoNotOptimize(crop.data);
  }
}
BENCHMARK(BM_AlignWarp)->Unit(benchmark::kMicrosecond);

void construct(benchmark::State& state, const std::string& name, bool landmarks) {
  if (name == "yunet" && yunet_path().empty()) {
    state.SkipWithError("models/face (the shipped YuNet) not found");
    return;
  }
  const DetectorOptions options = options_for(name, landmarks);
  for (auto _ : state) {
    auto detector = builtin_detectors().create(name, options);
    benchmark::DoNotOptimize(detector.get());
  }
}
void BM_ConstructYunet(benchmark::State& s) { construct(s, "yunet", true); }
void BM_ConstructDlibHog(benchmark::State& s) { construct(s, "dlib-hog", false); }
void BM_ConstructDlibHogLandmarks(benchmark::State& s) { construct(s, "dlib-hog", true); }
BENCHMARK(BM_ConstructYunet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConstructDlibHog)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConstructDlibHogLandmarks)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
