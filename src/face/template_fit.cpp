#include "faceage/face/template_fit.hpp"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "faceage/face/face_pipeline.hpp"

namespace faceage::face {

std::optional<FaceDetection> detect_in_crop(FaceDetector& detector, const cv::Mat& crop_rgb, float pad_fraction) {
  // Same order as FacePipeline::process: the crop itself, then a padded copy.
  auto largest = [](const std::vector<FaceDetection>& faces, const cv::Rect2f& inside) {
    std::optional<FaceDetection> best;
    for (const FaceDetection& f : faces) {
      if (!inside.contains(cv::Point2f(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2))) continue;
      if (!best || f.box.area() > best->box.area()) best = f;
    }
    return best;
  };
  const cv::Rect2f inside(0.f, 0.f, static_cast<float>(crop_rgb.cols), static_cast<float>(crop_rgb.rows));
  std::optional<FaceDetection> best = largest(detector.detect(crop_rgb), inside);
  if (best || pad_fraction <= 0.f) return best;
  const int px = static_cast<int>(std::lround(pad_fraction * crop_rgb.cols));
  const int py = static_cast<int>(std::lround(pad_fraction * crop_rgb.rows));
  cv::Mat padded;
  cv::copyMakeBorder(crop_rgb, padded, py, py, px, px, cv::BORDER_REPLICATE);
  std::vector<FaceDetection> faces = detector.detect(padded);
  for (FaceDetection& f : faces) {
    f.box.x -= px;
    f.box.y -= py;
    for (auto& p : f.landmarks) p -= cv::Point2f(static_cast<float>(px), static_cast<float>(py));
  }
  return largest(faces, inside);
}

TemplateFitReport fit_template(std::size_t count, const std::function<cv::Mat(std::size_t)>& load_rgb,
                               const TemplateFitOptions& options) {
  FACEAGE_CHECK(!options.detectors.empty(), ErrorCode::kInvalidArgument, "fit_template needs at least one detector");
  std::vector<std::unique_ptr<FaceDetector>> detectors;
  for (const auto& name : options.detectors) detectors.push_back(builtin_detectors().create(name, options.detector_options));
  const std::size_t nd = detectors.size();

  // Per detector: landmark sums, squared sums, box sums (crop pixels), all per crop.
  std::vector<std::vector<std::array<cv::Point2f, 5>>> points(nd);
  std::vector<std::vector<cv::Rect2f>> boxes(nd);
  std::vector<double> seconds(nd, 0.0);
  TemplateFitReport report;
  report.detectors.resize(nd);
  int crop_size = 0;
  std::array<double, 5> pair_sum{};
  for (std::size_t i = 0; i < count; ++i) {
    const cv::Mat rgb = load_rgb(i);
    if (rgb.empty()) continue;
    check_rgb(rgb, "fit_template");
    if (crop_size == 0) crop_size = rgb.cols;
    FACEAGE_CHECK(rgb.cols == crop_size && rgb.rows == crop_size, ErrorCode::kInvalidArgument,
                  "fit_template needs square crops of one size; crop " << i << " is " << rgb.cols << "x" << rgb.rows);
    std::vector<std::optional<FaceDetection>> found(nd);
    for (std::size_t d = 0; d < nd; ++d) {
      const auto start = std::chrono::steady_clock::now();
      found[d] = detect_in_crop(*detectors[d], rgb, options.pad_fraction);
      seconds[d] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++report.detectors[d].images;
      if (found[d] && found[d]->has_landmarks) {
        points[d].push_back(found[d]->landmarks);
        boxes[d].push_back(found[d]->box);
      }
    }
    if (nd >= 2 && found[0] && found[1] && found[0]->has_landmarks && found[1]->has_landmarks) {
      ++report.pairs;
      for (int k = 0; k < 5; ++k) pair_sum[k] += cv::norm(found[0]->landmarks[k] - found[1]->landmarks[k]);
    }
  }
  FACEAGE_CHECK(crop_size > 0, ErrorCode::kInvalidArgument, "fit_template: no crops could be read");

  const float s = static_cast<float>(crop_size);
  AlignmentTemplate& t = report.alignment;
  t.crop_size = crop_size;
  t.points = {};
  int fitted = 0;
  for (std::size_t d = 0; d < nd; ++d) {
    DetectorFit& fit = report.detectors[d];
    fit.detector = options.detectors[d];
    fit.detected = static_cast<int>(points[d].size());
    fit.ms_per_image = fit.images ? 1000.0 * seconds[d] / fit.images : 0.0;
    if (points[d].empty()) continue;
    const double n = static_cast<double>(points[d].size());
    std::array<cv::Point2d, 5> mean{};
    cv::Vec4d box(0, 0, 0, 0);
    for (std::size_t i = 0; i < points[d].size(); ++i) {
      for (int k = 0; k < 5; ++k) mean[k] += cv::Point2d(points[d][i][k]) / n;
      const cv::Rect2f& b = boxes[d][i];
      box += cv::Vec4d(b.x, b.y, b.width, b.height) / n;
    }
    for (int k = 0; k < 5; ++k) {
      double sq = 0;
      for (const auto& p : points[d]) sq += std::pow(cv::norm(cv::Point2d(p[k]) - mean[k]), 2);
      fit.spread_px[k] = static_cast<float>(std::sqrt(sq / n));
      fit.mean[k] = cv::Point2f(static_cast<float>(mean[k].x / s), static_cast<float>(mean[k].y / s));
      t.points[k] += fit.mean[k];
    }
    fit.mean_box = cv::Rect2f(static_cast<float>(box[0] / s), static_cast<float>(box[1] / s),
                              static_cast<float>(box[2] / s), static_cast<float>(box[3] / s));
    t.boxes.push_back({fit.detector, fit.mean_box});
    ++fitted;
  }
  FACEAGE_CHECK(fitted > 0, ErrorCode::kNoFace, "fit_template: no detector found landmarks in any crop");
  for (auto& p : t.points) p /= static_cast<float>(fitted);
  if (report.pairs > 0) {
    double total = 0;
    for (int k = 0; k < 5; ++k) {
      report.pair_error_px[k] = pair_sum[k] / report.pairs;
      total += report.pair_error_px[k];
    }
    report.pair_mean_error_px = total / 5;
  }
  return report;
}

std::vector<AlignmentCheck> check_alignment(std::size_t count, const std::function<cv::Mat(std::size_t)>& load_rgb,
                                            const AlignmentTemplate& alignment, const TemplateFitOptions& options) {
  std::vector<AlignmentCheck> checks;
  for (const auto& name : options.detectors) {
    FacePipelineOptions po;
    po.detector = name;
    po.detector_options = options.detector_options;
    po.alignment = alignment;
    po.selection = FaceSelection::kLargest;
    po.pad_retry_fraction = options.pad_fraction;
    FacePipeline pipeline(po);
    AlignmentCheck with{name, "landmarks"}, box{name, "box"};
    for (std::size_t i = 0; i < count; ++i) {
      const cv::Mat rgb = load_rgb(i);
      if (rgb.empty()) continue;
      ++with.images;
      ++box.images;
      std::vector<FaceRecord> faces;
      try {
        faces = pipeline.process(rgb);
      } catch (const Error&) {
        continue;
      }
      const FaceRecord& f = faces.front();
      AlignOptions ao;
      ao.crop_size = rgb.cols;
      ao.alignment = alignment;
      ao.box_convention = f.source == "crop_fallback" ? "whole_image" : name;
      auto measure = [&](AlignmentCheck& c, bool use_landmarks) {
        FaceDetection det;
        det.box = f.box;
        det.landmarks = f.landmarks;
        det.has_landmarks = f.has_landmarks && use_landmarks;
        cv::Matx23d m;
        const cv::Mat out = align_face(rgb, det, ao, &m);
        ++c.aligned;
        if (f.source == "crop_fallback") ++c.crop_fallback;
        cv::Mat diff;
        cv::absdiff(out, rgb, diff);
        const cv::Scalar mean = cv::mean(diff);
        c.mean_abs_diff += (mean[0] + mean[1] + mean[2]) / 3;
        // Where each crop corner comes from in the original: ideally itself.
        cv::Matx23d inv;
        cv::invertAffineTransform(m, inv);
        const float e = static_cast<float>(rgb.cols);
        double corner = 0;
        for (const cv::Point2f& p : {cv::Point2f(0, 0), cv::Point2f(e, 0), cv::Point2f(0, e), cv::Point2f(e, e)}) {
          corner += cv::norm(transform_point(inv, p) - p) / 4;
        }
        c.corner_error_px += corner;
        c.scale += std::hypot(m(0, 0), m(1, 0));
        c.rotation_deg += std::abs(std::atan2(m(1, 0), m(0, 0))) * 180.0 / CV_PI;
      };
      measure(with, true);
      measure(box, false);
    }
    for (AlignmentCheck* c : {&with, &box}) {
      if (c->aligned == 0) continue;
      c->mean_abs_diff /= c->aligned;
      c->corner_error_px /= c->aligned;
      c->scale /= c->aligned;
      c->rotation_deg /= c->aligned;
    }
    checks.push_back(with);
    checks.push_back(box);
  }
  return checks;
}

nlohmann::json to_json(const TemplateFitReport& report) {
  nlohmann::json detectors = nlohmann::json::array();
  for (const auto& d : report.detectors) {
    nlohmann::json mean = nlohmann::json::array();
    for (const auto& p : d.mean) mean.push_back({p.x, p.y});
    detectors.push_back({{"detector", d.detector},
                         {"images", d.images},
                         {"detected", d.detected},
                         {"mean", mean},
                         {"spread_px", d.spread_px},
                         {"mean_box", {d.mean_box.x, d.mean_box.y, d.mean_box.width, d.mean_box.height}},
                         {"ms_per_image", d.ms_per_image}});
  }
  return {{"detectors", detectors},
          {"pairs", report.pairs},
          {"pair_error_px", report.pair_error_px},
          {"pair_mean_error_px", report.pair_mean_error_px},
          {"alignment", to_json(report.alignment)}};
}

nlohmann::json to_json(const AlignmentCheck& c) {
  return {{"detector", c.detector},       {"mode", c.mode},
          {"images", c.images},           {"aligned", c.aligned},
          {"crop_fallback", c.crop_fallback}, {"mean_abs_diff", c.mean_abs_diff},
          {"corner_error_px", c.corner_error_px}, {"scale", c.scale},
          {"rotation_deg", c.rotation_deg}};
}

TemplateFitImages pick_template_images(const std::string& folder, std::size_t fit, std::size_t check) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".jpg") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(ErrorCode::kNotFound, "no .jpg files in " + folder);
  const std::size_t total = fit + check;
  const double stride = static_cast<double>(files.size()) / static_cast<double>(std::max<std::size_t>(total, 1));
  TemplateFitImages images;
  for (std::size_t i = 0; i < total && i < files.size(); ++i) {
    const std::string& file = files[static_cast<std::size_t>(i * stride)];
    // Every (total/check)-th pick goes to the check set.
    if (check > 0 && (i % std::max<std::size_t>(total / check, 1)) == 0 && images.check.size() < check) {
      images.check.push_back(file);
    } else {
      images.fit.push_back(file);
    }
  }
  return images;
}

}  // namespace faceage::face
