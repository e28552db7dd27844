// SPDX-License-Identifier: Apache-2.0
#include "faceage/face/quality.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"

namespace faceage::face {

double quality_ramp(double value, double bad, double good) {
  if (good == bad) return value >= good ? 1.0 : 0.0;
  return std::clamp((value - bad) / (good - bad), 0.0, 1.0);
}

namespace {

// Hasler & Suesstrunk's colourfulness: sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
double colourfulness_of(const cv::Mat& red, const cv::Mat& green, const cv::Mat& blue) {
  const cv::Mat rg = red - green;
  const cv::Mat yb = 0.5f * (red + green) - blue;
  cv::Scalar mean_rg, sd_rg, mean_yb, sd_yb;
  cv::meanStdDev(rg, mean_rg, sd_rg);
  cv::meanStdDev(yb, mean_yb, sd_yb);
  return std::hypot(sd_rg[0], sd_yb[0]) + 0.3 * std::hypot(mean_rg[0], mean_yb[0]);
}

constexpr int kSharpnessSide = 128;  // one size, so large and small faces compare

}  // namespace

CropStatistics crop_statistics(const cv::Mat& crop, ChannelOrder order) {
  FACEAGE_CHECK(!crop.empty(), ErrorCode::kInvalidArgument, "face statistics need a non-empty crop");
  FACEAGE_CHECK(crop.depth() == CV_8U && (crop.channels() == 1 || crop.channels() == 3 || crop.channels() == 4),
                ErrorCode::kInvalidArgument,
                "face statistics need an 8-bit gray, 3- or 4-channel crop (got type " << crop.type() << ")");
  CropStatistics stats;
  cv::Mat gray;
  if (crop.channels() == 1) {
    gray = crop;
  } else {
    std::vector<cv::Mat> channels;
    cv::split(crop, channels);
    const int red = order == ChannelOrder::kRgb ? 0 : 2, blue = 2 - red;
    cv::Mat r, g, b;
    channels[red].convertTo(r, CV_32F);
    channels[1].convertTo(g, CV_32F);
    channels[blue].convertTo(b, CV_32F);
    stats.colourfulness = colourfulness_of(r, g, b);
    cv::Mat luma = 0.299f * r + 0.587f * g + 0.114f * b;
    luma.convertTo(gray, CV_8U);
  }
  cv::Scalar mean, sd;
  cv::meanStdDev(gray, mean, sd);
  stats.brightness = mean[0];
  stats.contrast = sd[0];
  cv::Mat small, laplacian;
  cv::resize(gray, small, cv::Size(kSharpnessSide, kSharpnessSide), 0, 0,
             gray.cols >= kSharpnessSide ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Laplacian(small, laplacian, CV_64F);
  cv::meanStdDev(laplacian, mean, sd);
  stats.sharpness = sd[0] * sd[0];
  return stats;
}

std::optional<double> yaw_proxy(const std::array<cv::Point2f, 5>& landmarks) {
  const cv::Point2f first_eye = landmarks[0], second_eye = landmarks[1], nose = landmarks[2];
  const double eye_distance = std::hypot(second_eye.x - first_eye.x, second_eye.y - first_eye.y);
  if (!(eye_distance > 1e-6)) return std::nullopt;
  return (nose.x - 0.5 * (first_eye.x + second_eye.x)) / eye_distance;
}

FaceQuality assess_face_quality(const cv::Mat& aligned_rgb, double box_short_side,
                                const std::optional<std::array<cv::Point2f, 5>>& landmarks,
                                std::optional<double> detector_score, const FaceQualityOptions& options) {
  FaceQuality q;
  q.face_size_px = box_short_side;
  q.detector_score = detector_score;
  if (!aligned_rgb.empty()) {
    const auto stats = crop_statistics(aligned_rgb, ChannelOrder::kRgb);
    q.brightness = stats.brightness;
    q.contrast = stats.contrast;
    q.sharpness = stats.sharpness;
    q.colourfulness = stats.colourfulness;
  }
  q.grayscale = q.colourfulness < options.colourless;
  if (landmarks) q.yaw = yaw_proxy(*landmarks);
  q.size_score = quality_ramp(q.face_size_px, options.size_bad_px, options.size_good_px);
  q.sharpness_score = quality_ramp(q.sharpness, options.sharpness_bad, options.sharpness_good);
  q.exposure_score = std::min(quality_ramp(q.brightness, options.dark_bad, options.dark_good),
                              quality_ramp(q.brightness, options.bright_bad, options.bright_good));
  q.contrast_score = quality_ramp(q.contrast, options.contrast_bad, options.contrast_good);
  q.pose_score = q.yaw ? quality_ramp(std::abs(*q.yaw), options.yaw_bad, options.yaw_good) : 1.0;
  q.detector_part = detector_score ? quality_ramp(*detector_score, options.detector_bad, options.detector_good) : 1.0;
  q.colour_score = q.grayscale ? options.grayscale_factor : 1.0;
  q.score = q.size_score * q.sharpness_score * q.exposure_score * q.contrast_score * q.pose_score * q.detector_part *
            q.colour_score;
  return q;
}

nlohmann::json to_json(const FaceQuality& q) {
  auto optional_number = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"score", q.score},
          {"parts",
           {{"size", q.size_score},
            {"sharpness", q.sharpness_score},
            {"exposure", q.exposure_score},
            {"contrast", q.contrast_score},
            {"pose", q.pose_score},
            {"detector", q.detector_part},
            {"colour", q.colour_score}}},
          {"face_size_px", q.face_size_px},
          {"sharpness", q.sharpness},
          {"brightness", q.brightness},
          {"contrast", q.contrast},
          {"colourfulness", q.colourfulness},
          {"grayscale", q.grayscale},
          {"yaw", optional_number(q.yaw)},
          {"detector_score", optional_number(q.detector_score)}};
}

}  // namespace faceage::face
