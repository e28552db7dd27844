#pragma once
// Face alignment: a similarity transform (rotation + uniform scale + translation) that maps the
// 5 detected landmarks onto a canonical template, then a bilinear warp to a square crop.
// The canonical template (utkface_template()) reproduces UTKFace's "aligned & cropped" 200x200
// framing, so a face from a wild photo looks like what the model saw in training.
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceage/face/detector.hpp"

namespace faceage::face {

struct AlignmentTemplate {
  // Landmarks (LandmarkIndex order) in normalised crop coordinates: (0,0) is the crop's top-left
  // corner, (1,1) its bottom-right; pixel coordinate = value * crop_size.
  std::array<cv::Point2f, 5> points;
  int crop_size = 200;  // the crop size the template was fitted on (informational)
  // Box fallback for faces without landmarks: where a detector's box lands in the crop, in
  // normalised crop coordinates, keyed by box convention ("dlib-hog", "yunet"). A box is mapped
  // onto its calibrated rectangle by uniform scale + translation (centre to centre, mean side).
  struct BoxCalibration {
    std::string convention;
    cv::Rect2f box;
  };
  std::vector<BoxCalibration> boxes;
};

// The template fitted on UTKFace (numbers and the command that made them: src/face/align.cpp).
AlignmentTemplate utkface_template();

nlohmann::json to_json(const AlignmentTemplate& alignment);
AlignmentTemplate alignment_template_from_json(const nlohmann::json& json);  // kConfig on bad input

// Least-squares similarity transform dst ~ s*R*src + t (Umeyama 1991, closed form, no random
// sampling, so results are deterministic). Needs >= 2 non-coincident point pairs of equal count
// (kInvalidArgument otherwise). Returns the 2x3 matrix [s*R | t].
cv::Matx23d estimate_similarity(const std::vector<cv::Point2f>& src, const std::vector<cv::Point2f>& dst);

struct AlignOptions {
  int crop_size = 200;
  AlignmentTemplate alignment = utkface_template();
  // Box calibration used for faces without landmarks; "whole_image" maps the box onto the full
  // crop (for inputs that already are face crops). Unknown names fall back to the first entry.
  std::string box_convention = "dlib-hog";
  // UTKFace fills out-of-image areas with black (rotated crops show black wedges): match it.
  int border_mode = cv::BORDER_CONSTANT;
};

void validate(const AlignOptions& options);  // kInvalidArgument naming the key

// The 2x3 transform from image pixels to crop pixels for this face: landmarks -> template when
// has_landmarks, otherwise the box mapping described above.
cv::Matx23d alignment_transform(const FaceDetection& face, const AlignOptions& options);

// crop_size x crop_size CV_8UC3 RGB crop (bilinear). When `transform` is given it receives the
// image -> crop transform (map landmarks with transform_points()).
cv::Mat align_face(const cv::Mat& rgb, const FaceDetection& face, const AlignOptions& options,
                   cv::Matx23d* transform = nullptr);

// Applies a 2x3 affine transform to points.
std::array<cv::Point2f, 5> transform_points(const cv::Matx23d& transform, const std::array<cv::Point2f, 5>& points);
cv::Point2f transform_point(const cv::Matx23d& transform, const cv::Point2f& point);

}  // namespace faceage::face
