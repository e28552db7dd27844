// Measures how the YuNet input size affects the face detector (the figures in docs/face.md):
//   recall  faces of 24-400 px: UTKFace crops scaled and pasted into a 1024x768 non-face photo
//   landmarks  mean distance (px at 200 px) of the 5 landmarks from dlib's 68-point ones (eye
//              centres, nose tip, mouth corners) on UTKFace crops
//   ms      per image on one core (median thread CPU time) at 200x200 (a UTKFace crop) and 1024x768 (a pasted face)
//
//   face_resolution --utkface ../shared/data/utkface --models models/face [--n 200]
//                   [--configs "yunet_160x120.onnx,yunet_320x240.onnx,auto,auto+refine0,dlib-hog"]
// "auto" is the shipped folder with the default options (input chosen per image);
// "auto+refineN" sets refine_face_size N (0: no second pass); "auto@S" sets input_min_scale S; a file name forces
// that one input size.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceage/face/detector.hpp"

namespace fs = std::filesystem;
using namespace faceage::face;

namespace {

cv::Mat read_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR), rgb;
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

std::vector<std::string> spread_files(const std::string& dir, int n, int skip) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".jpg") all.push_back(e.path().string());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(all[(static_cast<std::size_t>(i) * all.size() / n + skip) % all.size()]);
  return out;
}

std::unique_ptr<FaceDetector> make(const std::string& config, const std::string& models, bool landmarks) {
  DetectorOptions o;
  if (config == "dlib-hog") {
    if (!landmarks) o.landmarks_model = "none";
    return builtin_detectors().create("dlib-hog", o);
  }
  o.model_path = models;
  std::string rest = config;
  if (rest.rfind("auto", 0) == 0) {
    rest = rest.substr(4);
    while (!rest.empty()) {
      if (rest.rfind("+refine", 0) == 0) {
        std::size_t used = 0;
        o.refine_face_size = std::stoi(rest.substr(7), &used);
        rest = rest.substr(7 + used);
      } else if (rest[0] == '@') {
        std::size_t used = 0;
        o.input_min_scale = std::stof(rest.substr(1), &used);
        rest = rest.substr(1 + used);
      } else {
        throw std::runtime_error("bad config " + config);
      }
    }
  } else {
    o.model_path = models + "/" + config;
  }
  return builtin_detectors().create("yunet", o);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// Median thread CPU time: the shared development machine is too contended for wall times.
template <class F>
double median_ms(F&& f, int reps) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double start = thread_cpu_ms();
    f();
    t.push_back(thread_cpu_ms() - start);
  }
  return median(t);
}

struct Pasted {
  cv::Rect2f face;    // expected face box: the crop's face fills ~0.83 of the crop side
  cv::Point2f origin;  // where the crop's top-left went
  float scale = 1.f;   // canvas pixels per crop pixel
};

// A UTKFace crop scaled so its face is about `face` px, pasted at a random place of the canvas.
Pasted paste(cv::Mat& canvas, const cv::Mat& crop, int face, std::mt19937& rng) {
  const int side = std::max(4, static_cast<int>(std::lround(face / 0.83)));
  cv::Mat scaled;
  cv::resize(crop, scaled, cv::Size(side, side), 0, 0, side < crop.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  std::uniform_int_distribution<int> ux(0, canvas.cols - side), uy(0, canvas.rows - side);
  const int x = ux(rng), y = uy(rng);
  scaled.copyTo(canvas(cv::Rect(x, y, side, side)));
  const float m = (side - face) / 2.f;
  return {cv::Rect2f(x + m, y + m, static_cast<float>(face), static_cast<float>(face)),
          cv::Point2f(static_cast<float>(x), static_cast<float>(y)), static_cast<float>(side) / crop.cols};
}

bool matches(const FaceDetection& d, const cv::Rect2f& truth) {
  const cv::Point2f c(d.box.x + d.box.width / 2, d.box.y + d.box.height / 2);
  const float side = std::sqrt(d.box.width * d.box.height);
  return truth.contains(c) && side > 0.5f * truth.width && side < 1.6f * truth.width;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("face detector resolution measurements");
  std::string utkface, models = "models/face", background_path, configs_text =
      "yunet_160x120.onnx,yunet_320x240.onnx,yunet_640x480.onnx,auto,dlib-hog";
  int n = 200, reps = 30;
  app.add_option("--utkface", utkface, "UTKFace crops folder")->required();
  app.add_option("--models", models, "folder of yunet_<W>x<H>.onnx files");
  app.add_option("--background", background_path, "non-face photo for the canvas (default tests/fixtures/no_face/rocket.jpg)");
  app.add_option("--configs", configs_text, "comma-separated detector configurations");
  app.add_option("--n", n, "crops per measurement");
  app.add_option("--reps", reps, "timing repetitions");
  CLI11_PARSE(app, argc, argv);
  cv::setNumThreads(1);
  if (background_path.empty()) background_path = std::string(FACEAGE_SOURCE_DIR) + "/tests/fixtures/no_face/rocket.jpg";
  cv::Mat background;
  cv::resize(read_rgb(background_path), background, cv::Size(1024, 768), 0, 0, cv::INTER_LINEAR);

  std::vector<std::string> configs;
  std::stringstream ss(configs_text);
  for (std::string c; std::getline(ss, c, ',');) configs.push_back(c);

  const std::vector<std::string> files = spread_files(utkface, n, 0);
  std::vector<cv::Mat> crops;
  for (const auto& f : files) crops.push_back(read_rgb(f));

  // Reference landmarks: dlib-hog + 68-point shape predictor on each crop (padded when missed).
  auto dlib = make("dlib-hog", models, true);
  std::vector<std::optional<FaceDetection>> reference(crops.size());
  for (std::size_t i = 0; i < crops.size(); ++i) {
    auto faces = dlib->detect(crops[i]);
    if (!faces.empty()) reference[i] = faces.front();
  }

  const std::vector<int> sizes{24, 32, 48, 64, 96, 128, 192, 256, 400};
  std::printf("config | landmark err px (found/ref) | recall per face size %s | landmark err per face size (px at 200) "
              "| false+/canvas | ms 200x200 | ms 1024x768\n",
              [&] {
                std::string s;
                for (int v : sizes) s += std::to_string(v) + " ";
                return s;
              }().c_str());
  for (const std::string& config : configs) {
    auto detector = make(config, models, true);
    // Landmarks.
    std::vector<double> errors;
    int found = 0, with_reference = 0;
    std::array<double, 5> per_point{};
    for (std::size_t i = 0; i < crops.size(); ++i) {
      if (!reference[i]) continue;
      ++with_reference;
      auto faces = detector->detect(crops[i]);
      const FaceDetection* best = nullptr;
      for (const auto& f : faces) {
        if (matches(f, reference[i]->box) && (!best || f.score > best->score)) best = &f;
      }
      if (!best || !best->has_landmarks) continue;
      ++found;
      double e = 0;
      for (int k = 0; k < 5; ++k) {
        const double d = cv::norm(best->landmarks[k] - reference[i]->landmarks[k]);
        per_point[k] += d;
        e += d / 5;
      }
      errors.push_back(e);
    }
    double mean_error = 0;
    for (double e : errors) mean_error += e / std::max<std::size_t>(1, errors.size());
    // Recall by face size, one face per canvas.
    std::mt19937 rng(7);
    std::string recall, pasted_error;
    int false_positives = 0, canvases = 0;
    cv::Mat canvas_1024;
    for (int size : sizes) {
      int hit = 0, measured = 0;
      double size_error = 0;
      for (std::size_t i = 0; i < crops.size(); ++i) {
        cv::Mat canvas = background.clone();
        const Pasted pasted = paste(canvas, crops[i], size, rng);
        if (size == 96 && canvas_1024.empty()) canvas_1024 = canvas.clone();
        const FaceDetection* hit_here = nullptr;
        const auto found = detector->detect(canvas);
        for (const auto& f : found) {
          if (matches(f, pasted.face)) hit_here = &f;
          else ++false_positives;
        }
        hit += hit_here != nullptr;
        ++canvases;
        // Landmark error against dlib's on the unscaled crop, in pixels of a 200-px crop.
        if (hit_here && hit_here->has_landmarks && reference[i]) {
          double e = 0;
          for (int k = 0; k < 5; ++k) {
            const cv::Point2f back = (hit_here->landmarks[k] - pasted.origin) / pasted.scale;
            e += cv::norm(back - reference[i]->landmarks[k]) / 5;
          }
          size_error += e;
          ++measured;
        }
      }
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.2f ", static_cast<double>(hit) / crops.size());
      recall += buf;
      std::snprintf(buf, sizeof buf, "%.1f ", measured ? size_error / measured : 0.0);
      pasted_error += buf;
    }
    const double ms200 = median_ms([&] { detector->detect(crops[0]); }, reps);
    const double ms1024 = median_ms([&] { detector->detect(canvas_1024); }, reps);
    std::printf("%s | %.2f (%d/%d; eyes %.1f %.1f nose %.1f mouth %.1f %.1f; median %.2f) | %s| %s| %.3f | %.2f | %.2f\n",
                config.c_str(), mean_error, found, with_reference, per_point[0] / std::max(1, found),
                per_point[1] / std::max(1, found), per_point[2] / std::max(1, found), per_point[3] / std::max(1, found),
                per_point[4] / std::max(1, found), median(errors), recall.c_str(), pasted_error.c_str(),
                static_cast<double>(false_positives) / canvases, ms200, ms1024);
    std::fflush(stdout);
  }
  return 0;
}
