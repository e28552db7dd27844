// "yunet": OpenCV's FaceDetectorYN. OpenCV 4.6 needs a FIXED input shape, so faceage ships one
// YuNet per input size (models/face/yunet_<W>x<H>.onnx, made by scripts/make-yunet-variants.py).
// Each image is letterboxed (aspect kept, padded right/bottom) into the smallest input that keeps
// small faces findable (input_min_scale), and results are mapped back. Faces that came out small
// in that input while the photo holds more detail can be detected again on a crop around them
// (refine_face_size) for finer landmarks. Measurements behind the defaults: docs/face.md.
#include <algorithm>
#include <filesystem>
#include <regex>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

#include "faceage/core/check.hpp"
#include "face/detectors.hpp"

namespace faceage::face {

namespace {

namespace fs = std::filesystem;

// The legacy single file (shared/weights/yunet.onnx) has no size in its name.
constexpr int kLegacyWidth = 160;
constexpr int kLegacyHeight = 120;
// A second pass must show the face at least this much larger than the first did to be worth its
// cost (another network pass).
constexpr double kMinRefineGain = 1.25;
// A face at least this many pixels in the first pass's input is refined only where the second pass
// costs no more than the first (an input no larger). Past ~48 px one pass's landmarks are within
// ~1 px of a refined pass's (docs/face.md), and measured on the shipped model a refine that costs
// more bought nothing (UTKFace val clean 4.532 either way; degraded 5.442 refining always, 5.426
// under this rule; APPA-REAL val 5.998 / 5.990), while a 200x200 portrait's 320x240 second pass
// cost 6x its first and halved the server's throughput.
constexpr float kCostlyRefineBelow = 48.f;

struct YunetInput {
  std::string path;
  int width = 0, height = 0;
  cv::Ptr<cv::FaceDetectorYN> net;
  cv::Mat canvas;
};

// The fixed input size a file name announces ("yunet_320x240.onnx"); false when it has none.
bool size_from_name(const fs::path& path, int& width, int& height) {
  static const std::regex pattern(R"(_(\d{2,4})x(\d{2,4})\.onnx$)");
  std::smatch m;
  const std::string name = path.filename().string();
  if (!std::regex_search(name, m, pattern)) return false;
  width = std::stoi(m[1]);
  height = std::stoi(m[2]);
  return true;
}

std::vector<YunetInput> list_inputs(const std::string& path) {
  std::vector<YunetInput> inputs;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      YunetInput in;
      if (entry.is_regular_file() && entry.path().filename().string().rfind("yunet_", 0) == 0 &&
          size_from_name(entry.path(), in.width, in.height)) {
        in.path = entry.path().string();
        inputs.push_back(in);
      }
    }
    FACEAGE_CHECK(!inputs.empty(), ErrorCode::kNotFound,
                  "yunet model folder '" << path << "' holds no yunet_<W>x<H>.onnx file");
  } else {
    FACEAGE_CHECK(fs::is_regular_file(path, ec), ErrorCode::kNotFound,
                  "yunet model file '" << path << "' does not exist");
    YunetInput in;
    in.path = path;
    if (!size_from_name(path, in.width, in.height)) {
      in.width = kLegacyWidth;
      in.height = kLegacyHeight;
    }
    inputs.push_back(in);
  }
  std::sort(inputs.begin(), inputs.end(),
            [](const YunetInput& a, const YunetInput& b) { return a.width * a.height < b.width * b.height; });
  return inputs;
}

double letterbox_scale(const YunetInput& in, int cols, int rows) {
  return std::min(static_cast<double>(in.width) / cols, static_cast<double>(in.height) / rows);
}

float overlap(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0.f ? inter / uni : 0.f;
}

class YunetDetector final : public FaceDetector {
 public:
  explicit YunetDetector(const DetectorOptions& options) : options_(options) {
    validate(options);
    const std::string path = resolve_yunet_model(options);
    if (path.empty()) {
      throw Error(ErrorCode::kNotFound, "the yunet detector needs a model and none was found",
                  std::string("faceage looks for ") + kShippedYunetDir +
                      "/ beside the program; set detector_options.model_path (--yunet-model) or the environment "
                      "variable " + kYunetModelEnv + " to a YuNet .onnx file or folder, or use detector 'dlib-hog'");
    }
    inputs_ = list_inputs(path);
    for (YunetInput& in : inputs_) {
      try {
        in.net = cv::FaceDetectorYN::create(in.path, "", cv::Size(in.width, in.height), options.score_threshold,
                                            options.nms_threshold, options.top_k);
      } catch (const cv::Exception& e) {
        throw Error(ErrorCode::kModel, "cannot load yunet model '" + in.path + "': " + e.what(),
                    "the file must be a YuNet ONNX model with a fixed 1x3x" + std::to_string(in.height) + "x" +
                        std::to_string(in.width) + " input (scripts/make-yunet-variants.py writes one)");
      }
      FACEAGE_CHECK(in.net, ErrorCode::kModel, "cannot load yunet model '" << in.path << "'");
      in.canvas.create(in.height, in.width, CV_8UC3);
    }
  }

  std::vector<FaceDetection> detect(const cv::Mat& rgb) override {
    check_rgb(rgb, "yunet detector");
    YunetInput& in = input_for(rgb.cols, rgb.rows);
    const double scale = letterbox_scale(in, rgb.cols, rgb.rows);
    std::vector<FaceDetection> faces = run(in, rgb);
    if (options_.refine_face_size > 0 && scale < 1.0) {
      for (FaceDetection& face : faces) {
        if (std::max(face.box.width, face.box.height) * scale < options_.refine_face_size) refine(rgb, face, in);
      }
    }
    faces.erase(std::remove_if(faces.begin(), faces.end(),
                               [&](const FaceDetection& f) {
                                 return std::min(f.box.width, f.box.height) < static_cast<float>(options_.min_face_size);
                               }),
                faces.end());
    return faces;
  }

  std::string name() const override { return "yunet"; }

 private:
  // The smallest input that shrinks the image by no more than input_min_scale, else the largest.
  YunetInput& input_for(int cols, int rows) {
    for (YunetInput& in : inputs_) {
      if (letterbox_scale(in, cols, rows) >= options_.input_min_scale) return in;
    }
    return inputs_.back();
  }

  // Faces in `rgb` (image pixels) from one pass of `in`.
  std::vector<FaceDetection> run(YunetInput& in, const cv::Mat& rgb) {
    const double scale = letterbox_scale(in, rgb.cols, rgb.rows);
    const int w = std::max(1, std::min(in.width, static_cast<int>(std::lround(rgb.cols * scale))));
    const int h = std::max(1, std::min(in.height, static_cast<int>(std::lround(rgb.rows * scale))));
    in.canvas.setTo(cv::Scalar::all(0));
    cv::Mat roi = in.canvas(cv::Rect(0, 0, w, h));
    // Resize first, then swap channels on the small image (FaceDetectorYN wants BGR).
    cv::resize(rgb, small_, cv::Size(w, h), 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::cvtColor(small_, roi, cv::COLOR_RGB2BGR);
    try {
      in.net->detect(in.canvas, raw_);
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::kModel, std::string("yunet inference failed: ") + e.what());
    }
    // The letterbox maps back with the actual per-axis resize factors.
    const float sx = static_cast<float>(rgb.cols) / w;
    const float sy = static_cast<float>(rgb.rows) / h;
    std::vector<FaceDetection> faces;
    for (int i = 0; i < raw_.rows; ++i) {
      const float* r = raw_.ptr<float>(i);
      FaceDetection face;
      face.box = cv::Rect2f(r[0] * sx, r[1] * sy, r[2] * sx, r[3] * sy);
      for (int k = 0; k < 5; ++k) face.landmarks[k] = cv::Point2f(r[4 + 2 * k] * sx, r[5 + 2 * k] * sy);
      face.has_landmarks = true;
      face.score = r[14];
      faces.push_back(face);
    }
    return faces;
  }

  // Detects `face` again on a square crop of twice its size, scaled so the face is about
  // refine_face_size in the input; keeps the new box and landmarks when the boxes agree.
  // `first` is the first pass's input. Skipped: a second pass that would not see the face larger
  // (a face filling most of a small photo, whose crop is the photo again: it would only repeat the
  // first pass), and one on a larger input than the first for a face already kCostlyRefineBelow px
  // or more there.
  void refine(const cv::Mat& rgb, FaceDetection& face, const YunetInput& first) {
    const float side = 2.f * std::max(face.box.width, face.box.height);
    const cv::Point2f centre(face.box.x + face.box.width / 2, face.box.y + face.box.height / 2);
    const cv::Rect region = cv::Rect(cv::Point(static_cast<int>(std::floor(centre.x - side / 2)),
                                               static_cast<int>(std::floor(centre.y - side / 2))),
                                     cv::Size(static_cast<int>(std::ceil(side)), static_cast<int>(std::ceil(side)))) &
                            cv::Rect(0, 0, rgb.cols, rgb.rows);
    if (region.width < 8 || region.height < 8) return;
    // The input whose letterbox brings the face closest to refine_face_size.
    YunetInput* best = nullptr;
    double best_gap = 0;
    const float face_side = std::max(face.box.width, face.box.height);
    for (YunetInput& in : inputs_) {
      const double gap = std::abs(std::log(face_side * letterbox_scale(in, region.width, region.height) /
                                           options_.refine_face_size));
      if (!best || gap < best_gap) best = &in, best_gap = gap;
    }
    const double first_scale = letterbox_scale(first, rgb.cols, rgb.rows);
    if (letterbox_scale(*best, region.width, region.height) < kMinRefineGain * first_scale) return;
    if (face_side * first_scale >= kCostlyRefineBelow && best->width * best->height > first.width * first.height) return;
    const cv::Point2f offset(static_cast<float>(region.x), static_cast<float>(region.y));
    const FaceDetection* match = nullptr;
    std::vector<FaceDetection> again = run(*best, rgb(region));
    for (FaceDetection& f : again) {
      f.box.x += offset.x;
      f.box.y += offset.y;
      for (auto& p : f.landmarks) p += offset;
      if (overlap(f.box, face.box) >= 0.5f && (!match || f.score > match->score)) match = &f;
    }
    if (match) face = *match;
  }

  DetectorOptions options_;
  std::vector<YunetInput> inputs_;  // by input area, smallest first
  cv::Mat small_, raw_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_yunet_detector(const DetectorOptions& options) {
  return std::make_unique<YunetDetector>(options);
}

}  // namespace faceage::face
