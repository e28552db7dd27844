#include "faceage/face/face_pipeline.hpp"

#include <algorithm>
#include <sstream>

#include <opencv2/core.hpp>

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"

namespace faceage::face {

const char* face_selection_name(FaceSelection selection) {
  switch (selection) {
    case FaceSelection::kLargest: return "largest";
    case FaceSelection::kMostConfident: return "most_confident";
    case FaceSelection::kAll: return "all";
  }
  return "all";
}

FaceSelection face_selection_from_name(const std::string& name) {
  if (name == "largest") return FaceSelection::kLargest;
  if (name == "most_confident") return FaceSelection::kMostConfident;
  if (name == "all") return FaceSelection::kAll;
  throw Error(ErrorCode::kInvalidArgument, "unknown face selection '" + name + "'; available: all, largest, most_confident");
}

void validate(const FacePipelineOptions& options) {
  validate(options.detector_options);
  FACEAGE_CHECK(options.crop_size >= 8 && options.crop_size <= 4096, ErrorCode::kInvalidArgument,
                "face.crop_size must be in [8, 4096], got " << options.crop_size);
  FACEAGE_CHECK(options.min_image_side >= 1, ErrorCode::kInvalidArgument,
                "face.min_image_side must be >= 1, got " << options.min_image_side);
  FACEAGE_CHECK(options.pad_retry_fraction >= 0.f && options.pad_retry_fraction <= 2.f, ErrorCode::kInvalidArgument,
                "face.pad_retry_fraction must be in [0, 2], got " << options.pad_retry_fraction);
  FACEAGE_CHECK(options.crop_min_aspect > 0.f && options.crop_min_aspect <= options.crop_max_aspect,
                ErrorCode::kInvalidArgument,
                "face.crop_min_aspect must be > 0 and <= face.crop_max_aspect, got " << options.crop_min_aspect
                                                                                      << " and " << options.crop_max_aspect);
  FACEAGE_CHECK(options.crop_min_side > 0 && options.crop_min_side <= options.crop_max_side, ErrorCode::kInvalidArgument,
                "face.crop_min_side must be > 0 and <= face.crop_max_side, got " << options.crop_min_side << " and "
                                                                                 << options.crop_max_side);
  FACEAGE_CHECK(options.crop_check_score >= 0.f && options.crop_check_score <= 1.f, ErrorCode::kInvalidArgument,
                "face.crop_check_score must be in [0, 1], got " << options.crop_check_score);
  FACEAGE_CHECK(options.crop_check_min_fraction >= 0.f && options.crop_check_min_fraction <= 2.f,
                ErrorCode::kInvalidArgument,
                "face.crop_check_min_fraction must be in [0, 2], got " << options.crop_check_min_fraction);
}

nlohmann::json to_json(const FacePipelineOptions& o) {
  const DetectorOptions& d = o.detector_options;
  return {
      {"detector", o.detector},
      {"detector_options",
       {{"model_path", d.model_path},
        {"score_threshold", d.score_threshold},
        {"nms_threshold", d.nms_threshold},
        {"top_k", d.top_k},
        {"input_min_scale", d.input_min_scale},
        {"refine_face_size", d.refine_face_size},
        {"min_face_size", d.min_face_size},
        {"landmarks_model", d.landmarks_model},
        {"hog_threshold", d.hog_threshold},
        {"upsample", d.upsample},
        {"max_side", d.max_side}}},
      {"crop_size", o.crop_size},
      {"alignment", to_json(o.alignment)},
      {"selection", face_selection_name(o.selection)},
      {"min_image_side", o.min_image_side},
      {"pad_retry_fraction", o.pad_retry_fraction},
      {"crop_fallback", o.crop_fallback},
      {"crop_min_aspect", o.crop_min_aspect},
      {"crop_max_aspect", o.crop_max_aspect},
      {"crop_min_side", o.crop_min_side},
      {"crop_max_side", o.crop_max_side},
      {"crop_check_score", o.crop_check_score},
      {"crop_check_hog_threshold", o.crop_check_hog_threshold},
      {"crop_check_min_fraction", o.crop_check_min_fraction},
  };
}

namespace {

template <class T>
void read(const nlohmann::json& json, const char* key, T& out, const std::string& prefix) {
  if (!json.contains(key)) return;
  try {
    out = json.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::kConfig, "face option '" + prefix + key + "' has a value of the wrong type: " +
                                        json.at(key).dump());
  }
}

// A face found on the padded copy may overhang a tight crop a little (UTKFace: YuNet's box is
// ~0.86 of the crop's height, dlib's 0.91), never by much.
constexpr float kMaxPaddedBoxToImage = 1.25f;

// Option names before the whole-image fallback became the checked crop fallback.
const std::pair<const char*, const char*> kLegacyKeys[] = {{"whole_image_fallback", "crop_fallback"},
                                                           {"whole_image_min_aspect", "crop_min_aspect"},
                                                           {"whole_image_max_aspect", "crop_max_aspect"},
                                                           {"whole_image_max_side", "crop_max_side"}};

void reject_unknown_keys(const nlohmann::json& json, const nlohmann::json& known, const std::string& prefix) {
  if (!json.is_object()) return;
  for (const auto& item : json.items()) {
    if (known.contains(item.key())) continue;
    std::vector<std::string> names;
    for (const auto& k : known.items()) names.push_back(k.key());
    throw Error(ErrorCode::kConfig, "unknown face option '" + prefix + item.key() + "'",
                "known keys: " + join(names, ", "));
  }
}

}  // namespace

FacePipelineOptions face_pipeline_from_json(const nlohmann::json& json) {
  FACEAGE_CHECK(json.is_object(), ErrorCode::kConfig, "face options must be a JSON object, got " << json.dump());
  // A misspelt key would otherwise be ignored silently; the defaults' JSON lists every key.
  nlohmann::json known = to_json(FacePipelineOptions{});
  // Bundles written before the crop fallback's rename (the "whole_image" fallback) still load.
  for (const auto& [legacy, key] : kLegacyKeys) known[legacy] = known.at(key);
  reject_unknown_keys(json, known, "face.");
  if (json.contains("detector_options")) {
    reject_unknown_keys(json.at("detector_options"), known.at("detector_options"), "face.detector_options.");
  }
  FacePipelineOptions o;
  read(json, "detector", o.detector, "");
  if (json.contains("detector_options")) {
    const auto& d = json.at("detector_options");
    FACEAGE_CHECK(d.is_object(), ErrorCode::kConfig, "face option 'detector_options' must be an object");
    DetectorOptions& t = o.detector_options;
    const std::string p = "detector_options.";
    read(d, "model_path", t.model_path, p);
    read(d, "score_threshold", t.score_threshold, p);
    read(d, "nms_threshold", t.nms_threshold, p);
    read(d, "top_k", t.top_k, p);
    read(d, "input_min_scale", t.input_min_scale, p);
    read(d, "refine_face_size", t.refine_face_size, p);
    read(d, "min_face_size", t.min_face_size, p);
    read(d, "landmarks_model", t.landmarks_model, p);
    read(d, "hog_threshold", t.hog_threshold, p);
    read(d, "upsample", t.upsample, p);
    read(d, "max_side", t.max_side, p);
  }
  read(json, "crop_size", o.crop_size, "");
  if (json.contains("alignment")) o.alignment = alignment_template_from_json(json.at("alignment"));
  if (json.contains("selection")) {
    std::string name;
    read(json, "selection", name, "");
    try {
      o.selection = face_selection_from_name(name);
    } catch (const Error& e) {
      throw Error(ErrorCode::kConfig, std::string("face option 'selection': ") + e.what());
    }
  }
  read(json, "min_image_side", o.min_image_side, "");
  read(json, "pad_retry_fraction", o.pad_retry_fraction, "");
  nlohmann::json current = json;
  for (const auto& [legacy, key] : kLegacyKeys) {
    if (current.contains(legacy) && !current.contains(key)) current[key] = current.at(legacy);
  }
  read(current, "crop_fallback", o.crop_fallback, "");
  read(current, "crop_min_aspect", o.crop_min_aspect, "");
  read(current, "crop_max_aspect", o.crop_max_aspect, "");
  read(current, "crop_min_side", o.crop_min_side, "");
  read(current, "crop_max_side", o.crop_max_side, "");
  read(current, "crop_check_score", o.crop_check_score, "");
  read(current, "crop_check_hog_threshold", o.crop_check_hog_threshold, "");
  read(current, "crop_check_min_fraction", o.crop_check_min_fraction, "");
  return o;
}

std::vector<FaceDetection> select_faces(std::vector<FaceDetection> faces, FaceSelection selection) {
  if (faces.empty()) return faces;
  auto area = [](const FaceDetection& f) { return f.box.width * f.box.height; };
  switch (selection) {
    case FaceSelection::kLargest:
      return {*std::max_element(faces.begin(), faces.end(),
                                [&](const auto& a, const auto& b) { return area(a) < area(b); })};
    case FaceSelection::kMostConfident:
      return {*std::max_element(faces.begin(), faces.end(),
                                [](const auto& a, const auto& b) { return a.score < b.score; })};
    case FaceSelection::kAll:
      std::stable_sort(faces.begin(), faces.end(), [](const auto& a, const auto& b) {
        return a.box.x + a.box.width / 2 < b.box.x + b.box.width / 2;
      });
      break;
  }
  return faces;
}

FacePipeline::FacePipeline(const FacePipelineOptions& options) : options_(options) {
  validate(options_);
  detector_ = builtin_detectors().create(options_.detector, options_.detector_options);
}

FacePipeline::~FacePipeline() = default;
FacePipeline::FacePipeline(FacePipeline&&) noexcept = default;
FacePipeline& FacePipeline::operator=(FacePipeline&&) noexcept = default;

std::vector<FaceDetection> FacePipeline::detect_padded(FaceDetector& detector, const cv::Mat& rgb) const {
  const int px = static_cast<int>(std::lround(options_.pad_retry_fraction * rgb.cols));
  const int py = static_cast<int>(std::lround(options_.pad_retry_fraction * rgb.rows));
  cv::Mat padded;
  cv::copyMakeBorder(rgb, padded, py, py, px, px, cv::BORDER_REPLICATE);
  const cv::Rect2f inside(0.f, 0.f, static_cast<float>(rgb.cols), static_cast<float>(rgb.rows));
  const float longest = static_cast<float>(std::max(rgb.cols, rgb.rows));
  std::vector<FaceDetection> faces;
  for (FaceDetection face : detector.detect(padded)) {
    face.box.x -= px;
    face.box.y -= py;
    for (auto& p : face.landmarks) p -= cv::Point2f(static_cast<float>(px), static_cast<float>(py));
    // A "face" centred in the replicated border, or larger than the image itself, is an artefact
    // of the padding (YuNet scores a blank image padded this way 0.46-0.56 with a box ~1.8x its
    // size; docs/face.md).
    const cv::Point2f centre(face.box.x + face.box.width / 2, face.box.y + face.box.height / 2);
    if (inside.contains(centre) && std::max(face.box.width, face.box.height) <= kMaxPaddedBoxToImage * longest) {
      faces.push_back(face);
    }
  }
  return faces;
}

bool FacePipeline::looks_like_crop(const cv::Mat& rgb) const {
  const float aspect = static_cast<float>(rgb.cols) / static_cast<float>(rgb.rows);
  const int longest = std::max(rgb.cols, rgb.rows);
  return aspect >= options_.crop_min_aspect && aspect <= options_.crop_max_aspect &&
         longest >= options_.crop_min_side && longest <= options_.crop_max_side;
}

bool FacePipeline::passes_face_check(const cv::Mat& rgb, float* score) {
  if (!check_detector_) {
    DetectorOptions lenient = options_.detector_options;
    lenient.score_threshold = options_.crop_check_score;
    lenient.hog_threshold = options_.crop_check_hog_threshold;
    lenient.landmarks_model = "none";  // only "is there a face", not where its eyes are
    check_detector_ = builtin_detectors().create(options_.detector, lenient);
  }
  const float min_side = options_.crop_check_min_fraction * static_cast<float>(std::min(rgb.cols, rgb.rows));
  bool passed = false;
  for (const FaceDetection& face : detect_padded(*check_detector_, rgb)) {
    if (std::min(face.box.width, face.box.height) >= min_side && (!passed || face.score > *score)) {
      passed = true;
      *score = face.score;
    }
  }
  return passed;
}

std::vector<FaceRecord> FacePipeline::process(const cv::Mat& rgb, const std::string& label) {
  check_rgb(rgb, "face pipeline");
  auto no_face = [&](const std::string& why) {
    std::ostringstream msg;
    msg << "no face found in " << (label.empty() ? std::string("the image") : label) << " (" << rgb.cols << "x"
        << rgb.rows << ", detector " << options_.detector << why << ")";
    return Error(ErrorCode::kNoFace, msg.str(),
                 "use a photo with a clearly visible, roughly frontal face at least " +
                     std::to_string(std::max(options_.detector_options.min_face_size, 24)) +
                     " px wide, or a tight face crop");
  };
  if (std::min(rgb.cols, rgb.rows) < options_.min_image_side) {
    throw no_face("; smaller than " + std::to_string(options_.min_image_side) + " px");
  }
  std::vector<FaceDetection> faces = detector_->detect(rgb);
  std::string source = "detector";

  if (faces.empty() && options_.pad_retry_fraction > 0.f) {
    // Detectors miss faces that fill the frame (tight crops): give them room and map back.
    faces = detect_padded(*detector_, rgb);
    source = "padded_retry";
  }

  std::string box_convention = options_.detector == "none" ? "whole_image" : options_.detector;
  if (faces.empty()) {
    // Tight crops the detectors miss keep an answer; anything else (blank, noise, a photo of no
    // face) must not get a made-up age.
    float score = 0.f;
    if (!(options_.crop_fallback && looks_like_crop(rgb) && passes_face_check(rgb, &score))) throw no_face("");
    FaceDetection whole;
    whole.box = cv::Rect2f(0.f, 0.f, static_cast<float>(rgb.cols), static_cast<float>(rgb.rows));
    whole.score = score;
    faces.push_back(whole);
    source = "crop_fallback";
    box_convention = "whole_image";
  }

  faces = select_faces(std::move(faces), options_.selection);

  AlignOptions align;
  align.crop_size = options_.crop_size;
  align.alignment = options_.alignment;
  align.box_convention = box_convention;
  std::vector<FaceRecord> records;
  records.reserve(faces.size());
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const FaceDetection& f = faces[i];
    FaceRecord r;
    r.index = static_cast<int>(i);
    r.box = f.box;
    r.landmarks = f.landmarks;
    r.has_landmarks = f.has_landmarks;
    r.score = f.score;
    r.source = source;
    r.aligned = align_face(rgb, f, align, &r.transform);
    if (f.has_landmarks) r.aligned_landmarks = transform_points(r.transform, f.landmarks);
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace faceage::face
