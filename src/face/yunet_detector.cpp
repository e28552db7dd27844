// "yunet": OpenCV's FaceDetectorYN. The shared model has a FIXED 1x3x120x160 input, so every
// image is letterboxed into 160x120 (aspect kept, padded right/bottom) and results are mapped
// back. Consequence: on large images small faces shrink below what YuNet finds (~10 px in the
// 160x120 frame): a face must be roughly >= 1/12 of the image's longest side (docs/face.md).
#include <filesystem>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect/face.hpp>

#include "faceage/core/check.hpp"
#include "face/detectors.hpp"

namespace faceage::face {

namespace {

constexpr int kInputWidth = 160;
constexpr int kInputHeight = 120;

class YunetDetector final : public FaceDetector {
 public:
  explicit YunetDetector(const DetectorOptions& options) : options_(options) {
    validate(options);
    const std::string path = resolve_yunet_model(options);
    if (path.empty()) {
      throw Error(ErrorCode::kNotFound, "the yunet detector needs a model file and none is configured",
                  std::string("set detector_options.model_path (--yunet-model) or the environment variable ") +
                      kYunetModelEnv + " to a YuNet .onnx file with a 1x3x120x160 input, or use detector 'dlib-hog'");
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw Error(ErrorCode::kNotFound, "yunet model file '" + path + "' does not exist",
                  std::string("check detector_options.model_path / ") + kYunetModelEnv);
    }
    try {
      net_ = cv::FaceDetectorYN::create(path, "", cv::Size(kInputWidth, kInputHeight), options.score_threshold,
                                        options.nms_threshold, options.top_k);
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::kModel, "cannot load yunet model '" + path + "': " + e.what(),
                  "the file must be a YuNet ONNX model with a fixed 1x3x120x160 input");
    }
    FACEAGE_CHECK(net_, ErrorCode::kModel, "cannot load yunet model '" << path << "'");
    canvas_.create(kInputHeight, kInputWidth, CV_8UC3);
  }

  std::vector<FaceDetection> detect(const cv::Mat& rgb) override {
    check_rgb(rgb, "yunet detector");
    const double scale = std::min(static_cast<double>(kInputWidth) / rgb.cols,
                                  static_cast<double>(kInputHeight) / rgb.rows);
    const int w = std::max(1, std::min(kInputWidth, static_cast<int>(std::lround(rgb.cols * scale))));
    const int h = std::max(1, std::min(kInputHeight, static_cast<int>(std::lround(rgb.rows * scale))));
    canvas_.setTo(cv::Scalar::all(0));
    cv::Mat roi = canvas_(cv::Rect(0, 0, w, h));
    // Resize first, then swap channels on the small image (FaceDetectorYN wants BGR).
    cv::resize(rgb, small_, cv::Size(w, h), 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::cvtColor(small_, roi, cv::COLOR_RGB2BGR);
    try {
      net_->detect(canvas_, raw_);
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
      if (std::min(face.box.width, face.box.height) < static_cast<float>(options_.min_face_size)) continue;
      faces.push_back(face);
    }
    return faces;
  }

  std::string name() const override { return "yunet"; }

 private:
  DetectorOptions options_;
  cv::Ptr<cv::FaceDetectorYN> net_;
  cv::Mat canvas_, small_, raw_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_yunet_detector(const DetectorOptions& options) {
  return std::make_unique<YunetDetector>(options);
}

}  // namespace faceage::face
