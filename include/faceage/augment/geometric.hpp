#pragma once
// Geometric augmentation: flip, zoom/stretch/translate (random resized crop), rotation and the
// final resize to the model's input size, composed into ONE 2x3 affine matrix so the image is
// resampled once (fast, no blur build-up) and landmarks/boxes move with exactly the same matrix.
//
// Coordinates: landmarks are OpenCV pixel coordinates (pixel i has its centre at x = i), the
// convention cv::warpAffine uses, so a landmark on a pixel centre lands on the same image content.
// Boxes (cv::Rect2f) are edge coordinates (a box covering pixel 0 only is x = 0, width = 1).
//
// Landmark order (5 points): subject's right eye, left eye, nose, right mouth corner, left mouth
// corner. A horizontal flip mirrors positions AND swaps right<->left indices, so index 0 stays the
// subject's right eye (the one at smaller x in a frontal face).
#include <array>

#include <opencv2/core.hpp>

namespace faceage::augment {

using Landmarks = std::array<cv::Point2f, 5>;

enum class Interpolation { kLinear, kCubic };
enum class BorderMode { kReflect, kReplicate, kConstant };  // kConstant fills with black

struct FlipParams {
  bool flip = false;  // mirror left-right
};

struct AffineParams {
  double angle_deg = 0.0;  // rotation about the output centre, counter-clockwise as displayed
  double scale = 1.0;      // zoom about the centre; > 1 enlarges the face (crops in)
  double aspect = 1.0;     // stretch: x scaled by sqrt(aspect), y by 1/sqrt(aspect)
  double tx = 0.0;         // shift right, as a fraction of the output width
  double ty = 0.0;         // shift down, as a fraction of the output height
};

// True when the params leave only the plain resize (then cv::resize is used, as at eval time).
bool is_identity(const FlipParams& flip, const AffineParams& affine);

// The forward matrix (source pixel -> output pixel): flip about the source centre, resize the
// source to `dst` (centre-aligned, as cv::resize), then scale/aspect, rotate and shift about the
// output centre.
cv::Matx23d geometric_matrix(cv::Size src, cv::Size dst, const FlipParams& flip, const AffineParams& affine);

cv::Point2f transform_point(const cv::Matx23d& m, const cv::Point2f& p);
// Moves the landmarks with `m`; swap_sides exchanges right/left indices (after a flip).
Landmarks transform_landmarks(const cv::Matx23d& m, const Landmarks& landmarks, bool swap_sides);
// The axis-aligned bounding box of the transformed corners (edge coordinates in and out).
cv::Rect2f transform_box(const cv::Matx23d& m, const cv::Rect2f& box);
// Right eye <-> left eye, right mouth <-> left mouth; the nose stays.
Landmarks swap_landmark_sides(const Landmarks& landmarks);

int to_cv_interpolation(Interpolation interpolation);
int to_cv_border(BorderMode border);

// Eval/inference preprocessing: resize an aligned RGB crop to output_size x output_size with the
// same interpolation as the `none` preset (Augmenter with identity params gives identical bytes).
// kInvalidArgument for an empty or non-CV_8UC3 image or output_size outside [8, 4096].
cv::Mat resize_for_eval(const cv::Mat& rgb, int output_size, Interpolation interpolation = Interpolation::kLinear);

// Test-time flip averaging: the mirrored image, and landmarks mirrored for an image `width` wide
// (x -> width - 1 - x) with right/left swapped.
cv::Mat hflip(const cv::Mat& image);
Landmarks hflip_landmarks(const Landmarks& landmarks, int width);

}  // namespace faceage::augment
