// SPDX-License-Identifier: Apache-2.0
#include "faceage/face/quality.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace faceage::face {

double quality_ramp(double value, double bad, double good) {
  if (good == bad) return value >= good ? 1.0 : 0.0;
  return std::clamp((value - bad) / (good - bad), 0.0, 1.0);
}

namespace {

// Hasler & Suesstrunk's colourfulness: sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2).
double colourfulness_of(const cv::Mat& rgb) {
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3);
  std::vector<cv::Mat> c;
  cv::split(f, c);
  const cv::Mat rg = c[0] - c[1];
  const cv::Mat yb = 0.5f * (c[0] + c[1]) - c[2];
  cv::Scalar mean_rg, sd_rg, mean_yb, sd_yb;
  cv::meanStdDev(rg, mean_rg, sd_rg);
  cv::meanStdDev(yb, mean_yb, sd_yb);
  return std::sqrt(sd_rg[0] * sd_rg[0] + sd_yb[0] * sd_yb[0]) +
         0.3 * std::sqrt(mean_rg[0] * mean_rg[0] + mean_yb[0] * mean_yb[0]);
}

}  // namespace

FaceQuality assess_face_quality(const cv::Mat& aligned_rgb, double box_short_side,
                                const std::optional<std::array<cv::Point2f, 5>>& landmarks,
                                std::optional<double> detector_score, const FaceQualityOptions& options) {
  FaceQuality q;
  q.face_size_px = box_short_side;
  q.detector_score = detector_score;
  if (!aligned_rgb.empty() && aligned_rgb.type() == CV_8UC3) {
    // Sharpness at one fixed scale, so crops of every crop_size compare (112 px: the model's input).
    cv::Mat small, gray, laplacian;
    cv::resize(aligned_rgb, small, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
    cv::cvtColor(small, gray, cv::COLOR_RGB2GRAY);
    cv::Laplacian(gray, laplacian, CV_64F);
    cv::Scalar mean, sd;
    cv::meanStdDev(laplacian, mean, sd);
    q.sharpness = sd[0] * sd[0];
    cv::meanStdDev(gray, mean, sd);
    q.brightness = mean[0];
    q.contrast = sd[0];
    q.colourfulness = colourfulness_of(small);
  }
  q.grayscale = q.colourfulness < options.colourless;
  if (landmarks) {
    const auto& p = *landmarks;  // left eye, right eye, nose, mouth left, mouth right
    const cv::Point2f eye_mid = (p[0] + p[1]) * 0.5f;
    const double eye_distance = cv::norm(p[1] - p[0]);
    if (eye_distance > 1e-3) {
      // The nose's offset from the eyes' midpoint along the eye line: a yaw proxy.
      const cv::Point2f axis = (p[1] - p[0]) * (1.0f / static_cast<float>(eye_distance));
      q.yaw = std::abs((p[2] - eye_mid).dot(axis)) / eye_distance;
    }
  }
  q.size_score = quality_ramp(q.face_size_px, options.size_bad_px, options.size_good_px);
  q.sharpness_score = quality_ramp(q.sharpness, options.sharpness_bad, options.sharpness_good);
  q.exposure_score = std::min(quality_ramp(q.brightness, options.dark_bad, options.dark_good),
                              quality_ramp(q.brightness, options.bright_bad, options.bright_good));
  q.contrast_score = quality_ramp(q.contrast, options.contrast_bad, options.contrast_good);
  q.pose_score = q.yaw ? quality_ramp(*q.yaw, options.yaw_bad, options.yaw_good) : 1.0;
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
