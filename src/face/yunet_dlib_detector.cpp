// "yunet-dlib68": YuNet finds the faces (it finds small, turned and dim faces that dlib's HOG
// misses), dlib's 68-point shape predictor places the landmarks. dlib's points are about half as
// noisy as YuNet's on face crops (aligning UTKFace crops back onto themselves: 4.8 px mean corner
// displacement against 9.7, docs/face.md), and steadier landmarks mean steadier crops.
//
// The shape predictor starts from the box dlib's HOG detector would give, which is square, larger
// and lower than YuNet's; the box is mapped with the median relation measured on 388 UTKFace crops
// that both detectors found (side 1.05x YuNet's height, centre shifted by +0.02 / +0.11 of YuNet's
// width; the relation's spread is 6-8 % of the width). Faces keep YuNet's box and score.
//
// dlib's predictor starts from a frontal mean shape and fails on turned faces, where YuNet's points
// stay on the face: where the two disagree on the eyes by more than kMaxEyeDisagreement of the
// box width, the face keeps YuNet's points. On frontal faces they agree (median 0.03-0.04 of the
// width on UTKFace crops and APPA-REAL val photos; beyond 0.1 on 6 % of APPA-REAL val's faces,
// nearly all turned, and ~1 % of UTKFace's). landmarks_model "none" leaves YuNet's own points (the
// face check needs no landmarks).
#include <optional>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "face/detectors.hpp"
#include "face/dlib_landmarks.hpp"

namespace faceage::face {

namespace {

constexpr float kDlibSidePerYunetHeight = 1.05f;
constexpr float kDlibCentreShiftX = 0.02f;  // fractions of YuNet's box width
constexpr float kDlibCentreShiftY = 0.11f;

cv::Rect2f dlib_box_from_yunet(const cv::Rect2f& yunet) {
  const float side = kDlibSidePerYunetHeight * yunet.height;
  const float cx = yunet.x + 0.5f * yunet.width + kDlibCentreShiftX * yunet.width;
  const float cy = yunet.y + 0.5f * yunet.height + kDlibCentreShiftY * yunet.width;
  return cv::Rect2f(cx - 0.5f * side, cy - 0.5f * side, side, side);
}

class YunetDlibLandmarksDetector final : public FaceDetector {
 public:
  explicit YunetDlibLandmarksDetector(const DetectorOptions& options) : yunet_(make_yunet_detector(options)) {
    if (options.landmarks_model == "none") return;
    const std::string path = resolve_dlib_landmarks(options);
    if (path.empty()) {
      throw Error(ErrorCode::kNotFound,
                  std::string("detector 'yunet-dlib68' needs dlib's 68-point landmark model and '") +
                      kDefaultDlibLandmarks + "' does not exist",
                  "install Debian's libdlib-data, set detector_options.landmarks_model to the .dat file, or use "
                  "detector 'yunet'");
    }
    landmarker_.emplace(path);
  }

  std::vector<FaceDetection> detect(const cv::Mat& rgb) override {
    std::vector<FaceDetection> faces = yunet_->detect(rgb);  // checks rgb
    if (!landmarker_ || faces.empty()) return faces;
    cv::cvtColor(rgb, gray_, cv::COLOR_RGB2GRAY);
    for (FaceDetection& face : faces) {
      const auto dlib_points = landmarker_->five_points(gray_, dlib_box_from_yunet(face.box));
      if (!face.has_landmarks || dlib_eyes_agree(face, dlib_points)) face.landmarks = dlib_points;
      face.has_landmarks = true;
    }
    return faces;
  }

  std::string name() const override { return "yunet-dlib68"; }

 private:
  std::unique_ptr<FaceDetector> yunet_;
  std::optional<DlibLandmarker> landmarker_;
  cv::Mat gray_;
};

}  // namespace

bool dlib_eyes_agree(const FaceDetection& yunet, const std::array<cv::Point2f, 5>& dlib) {
  const double right = cv::norm(yunet.landmarks[kRightEye] - dlib[kRightEye]);
  const double left = cv::norm(yunet.landmarks[kLeftEye] - dlib[kLeftEye]);
  return 0.5 * (right + left) <= kMaxEyeDisagreement * yunet.box.width;
}

std::string yunet_dlib_landmarks_rule() { return "turned faces keep yunet's points (eyes apart > 0.1 box)"; }

std::unique_ptr<FaceDetector> make_yunet_dlib_landmarks_detector(const DetectorOptions& options) {
  return std::make_unique<YunetDlibLandmarksDetector>(options);
}

}  // namespace faceage::face
