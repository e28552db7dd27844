// Decode benchmarks for faceage::data: the turbojpeg path (decode_image) against cv::imdecode on
// a 200x200 JPEG made at run time, and on a real UTKFace image when /work/shared is present.
#include <benchmark/benchmark.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/core/fs.hpp"
#include "faceage/data/csv.hpp"
#include "faceage/data/image_io.hpp"

namespace {

using faceage::data::decode_image;

// A photo-like 200x200 image: smooth gradients plus texture, JPEG quality 90, 4:2:0.
std::vector<std::uint8_t> synthetic_jpeg() {
  cv::Mat bgr(200, 200, CV_8UC3);
  cv::RNG rng(42);
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 200; ++x)
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x + rng.uniform(0, 30)), static_cast<uchar>(y + rng.uniform(0, 30)),
                                          static_cast<uchar>((x + y) / 2));
  cv::circle(bgr, {100, 90}, 50, cv::Scalar(120, 150, 200), -1);
  cv::GaussianBlur(bgr, bgr, {3, 3}, 0);
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
  return bytes;
}

std::vector<std::uint8_t> utkface_jpeg() {
  const std::string path = std::string(FACEAGE_SOURCE_DIR) + "/../shared/data/utkface/images/100_0_0_20170112213500903.jpg.chip.jpg";
  if (!std::filesystem::exists(path)) return {};
  return faceage::read_file_bytes(path);
}

void run_turbo(benchmark::State& state, const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) {
    state.SkipWithError("image not available");
    return;
  }
  const faceage::data::DecodeOptions options;
  for (auto _ : state) {
    auto image = decode_image(bytes.data(), bytes.size(), options, "bench");
    benchmark::DoNotOptimize(image.rgb.data);
  }
  state.SetItemsProcessed(state.iterations());
}

void run_imdecode(benchmark::State& state, const std::vector<std::uint8_t>& bytes) {
  if (bytes.empty()) {
    state.SkipWithError("image not available");
    return;
  }
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<std::uint8_t*>(bytes.data()));
  for (auto _ : state) {
    // The same output contract: decode then BGR -> RGB.
    cv::Mat bgr = cv::imdecode(buffer, cv::IMREAD_COLOR);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    benchmark::DoNotOptimize(rgb.data);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeTurbojpeg_Synthetic200(benchmark::State& state) { run_turbo(state, synthetic_jpeg()); }
void BM_DecodeImdecode_Synthetic200(benchmark::State& state) { run_imdecode(state, synthetic_jpeg()); }
void BM_DecodeTurbojpeg_Utkface(benchmark::State& state) { run_turbo(state, utkface_jpeg()); }
void BM_DecodeImdecode_Utkface(benchmark::State& state) { run_imdecode(state, utkface_jpeg()); }

// Header-only refusal of a decompression bomb (PNG whose IHDR claims 30000x30000).
void BM_RefuseHugePngHeader(benchmark::State& state) {
  const auto bytes = faceage::read_file_bytes(std::string(FACEAGE_SOURCE_DIR) + "/tests/fixtures/bad/huge_dims.png");
  const faceage::data::DecodeOptions options;
  for (auto _ : state) {
    try {
      decode_image(bytes.data(), bytes.size(), options, "bomb");
    } catch (const std::exception& e) {
      benchmark::DoNotOptimize(e.what());
    }
  }
}

// Parsing a 20k-row manifest-sized CSV.
void BM_ParseCsv20k(benchmark::State& state) {
  std::string text = "file,age,gender,race\n";
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + "_0_1_20170101.jpg.chip.jpg," + std::to_string(i % 100) + ",male,1\n";
  for (auto _ : state) {
    auto table = faceage::data::parse_csv(text);
    benchmark::DoNotOptimize(table.rows.data());
  }
  state.SetItemsProcessed(state.iterations() * 20000);
}

BENCHMARK(BM_DecodeTurbojpeg_Synthetic200);
BENCHMARK(BM_DecodeImdecode_Synthetic200);
BENCHMARK(BM_DecodeTurbojpeg_Utkface);
BENCHMARK(BM_DecodeImdecode_Utkface);
BENCHMARK(BM_RefuseHugePngHeader);
BENCHMARK(BM_ParseCsv20k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
