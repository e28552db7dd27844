// Output records of the predictor: JSON, CSV rows and annotated images.
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "faceage/infer/predictor.hpp"

namespace faceage::infer {

namespace {
std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}
double round_to(double value, int decimals) {
  double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}
// A model without a gender head leaves the gender fields null (JSON) or empty (CSV).
nlohmann::json rounded_or_null(const std::optional<double>& value, int decimals) {
  return value ? nlohmann::json(round_to(*value, decimals)) : nlohmann::json(nullptr);
}
}  // namespace

nlohmann::json to_json(const ImagePrediction& prediction) {
  nlohmann::json records = nlohmann::json::array();
  if (!prediction.ok()) {
    records.push_back({{"file", prediction.source},
                       {"face", nullptr},
                       {"error", prediction.error->message},
                       {"error_code", error_code_name(prediction.error->code)}});
    return records;
  }
  for (const auto& face : prediction.faces) {
    nlohmann::json landmarks = nlohmann::json::array();
    if (face.has_landmarks) {
      for (const auto& point : face.landmarks) landmarks.push_back({round_to(point.x, 1), round_to(point.y, 1)});
    }
    records.push_back({{"file", prediction.source},
                       {"face", face.face},
                       {"x", round_to(face.box.x, 1)},
                       {"y", round_to(face.box.y, 1)},
                       {"w", round_to(face.box.width, 1)},
                       {"h", round_to(face.box.height, 1)},
                       {"age", round_to(face.age, 2)},
                       {"age_low", round_to(face.age_low, 2)},
                       {"age_high", round_to(face.age_high, 2)},
                       {"age_std", round_to(face.age_std, 2)},
                       {"gender", face.gender.empty() ? nlohmann::json(nullptr) : nlohmann::json(face.gender)},
                       {"gender_prob", rounded_or_null(face.gender_prob, 4)},
                       {"female_prob", rounded_or_null(face.female_prob, 4)},
                       {"p_minor", round_to(face.p_minor, 4)},
                       {"minor_gate", face.minor_gate},
                       {"p_minor_calibrated", face.p_minor_calibrated},
                       {"interval", face.conformal_interval ? "conformal" : "model"},
                       {"quality", face::to_json(face.quality)},
                       {"unreliable", face.unreliable},
                       {"detector_score", round_to(face.detector_score, 4)},
                       {"face_source", face.face_source},
                       {"landmarks", landmarks},
                       {"error", nullptr}});
  }
  return records;
}

const std::vector<std::string>& prediction_csv_header() {
  static const std::vector<std::string> kHeader{"file", "face", "x", "y", "w", "h", "age",
                                                "age_low", "age_high", "gender", "gender_prob",
                                                "p_minor", "quality", "unreliable", "error"};
  return kHeader;
}

std::vector<std::vector<std::string>> to_csv_rows(const ImagePrediction& prediction) {
  std::vector<std::vector<std::string>> rows;
  if (!prediction.ok()) {
    std::vector<std::string> row(prediction_csv_header().size());
    row.front() = prediction.source;
    row.back() = prediction.error->message;
    rows.push_back(std::move(row));
    return rows;
  }
  for (const auto& face : prediction.faces) {
    rows.push_back({prediction.source, std::to_string(face.face), fixed(face.box.x, 1), fixed(face.box.y, 1),
                    fixed(face.box.width, 1), fixed(face.box.height, 1), fixed(face.age, 2), fixed(face.age_low, 2),
                    fixed(face.age_high, 2), face.gender,
                    face.gender_prob ? fixed(*face.gender_prob, 4) : std::string(), fixed(face.p_minor, 4),
                    fixed(face.quality.score, 3), face.unreliable ? "1" : "0", ""});
  }
  return rows;
}

cv::Mat annotate(const cv::Mat& rgb, const ImagePrediction& prediction) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  const double scale = std::max(0.4, std::min(bgr.cols, bgr.rows) / 600.0);
  const int thickness = std::max(1, static_cast<int>(std::lround(2 * scale)));
  for (const auto& face : prediction.faces) {
    const cv::Scalar colour = face.gender.empty()         ? cv::Scalar(80, 190, 80)
                              : face.gender == "female" ? cv::Scalar(180, 80, 255)
                                                        : cv::Scalar(255, 160, 40);
    cv::Rect box(cv::Point(static_cast<int>(face.box.x), static_cast<int>(face.box.y)),
                 cv::Size(static_cast<int>(face.box.width), static_cast<int>(face.box.height)));
    cv::rectangle(bgr, box, colour, thickness, cv::LINE_AA);
    if (face.has_landmarks) {
      for (const auto& point : face.landmarks) cv::circle(bgr, point, thickness + 1, colour, cv::FILLED, cv::LINE_AA);
    }
    char text[160];
    std::snprintf(text, sizeof(text), "%.0f (%.0f-%.0f)%s%s, P(<%g)=%.2f%s", face.age, face.age_low, face.age_high,
                  face.gender.empty() ? "" : ", ", face.gender.c_str(), face.minor_gate, face.p_minor,
                  face.unreliable ? " ?" : "");
    int baseline = 0;
    const double font_scale = 0.6 * scale;
    cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
    cv::Point origin(box.x, std::max(size.height + 4, box.y - 4));
    cv::rectangle(bgr, cv::Rect(origin.x, origin.y - size.height - 4, size.width + 6, size.height + baseline + 6), colour,
                  cv::FILLED);
    cv::putText(bgr, text, cv::Point(origin.x + 3, origin.y), cv::FONT_HERSHEY_SIMPLEX, font_scale,
                cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
  }
  return bgr;
}

}  // namespace faceage::infer
