#pragma once
// The classical baseline: HOG features of the aligned face crops the networks see, PCA with every
// component scaled to unit variance, then dlib's RBF support-vector regressor for age and an RBF
// SVM for gender. A yardstick for the networks (docs/model-card.md), trained in minutes on a CPU.
// dlib and torch stay out of this header.
//
// Model file (`.fabl`, written by save, read by load): the 17 bytes "FACEAGE-BASELINE\n", then
// dlib-serialised: format version (int), info JSON (options, face pipeline, training facts),
// PCA mean, PCA basis (rows = components), per-component scale, the age SVR and -- when the
// training set had both genders -- the gender SVM. Anything else is a kModel error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace faceage::baseline {

inline constexpr int kModelFormatVersion = 1;

struct HogOptions {
  int window = 64;      // the crop's centre is resized to window x window (a multiple of cell)
  int cell = 8;         // cell side in pixels; blocks are 2x2 cells moved one cell at a time
  int bins = 9;         // orientation bins
  double margin = 0.1;  // fraction of the crop side cut from each border first (the alignment
                        // template leaves background there)
};
// Values per crop: 1,764 with the defaults (7x7 blocks x 4 cells x 9 bins).
int hog_length(const HogOptions& options);
// One CV_32F row of HOG values per crop (CV_8UC3 RGB, or CV_8UC1). kInvalidArgument for an empty
// crop or one smaller than 8x8 after the margin.
cv::Mat hog_features(const std::vector<cv::Mat>& crops, const HogOptions& options);

struct BaselineOptions {
  HogOptions hog;
  int pca_dims = 128;                    // PCA components kept (at most the sample count and HOG length)
  std::size_t max_train_samples = 6000;  // a random subset above this: kernel SVMs fit in O(n^2..n^3)
  double c_age = 10;                     // SVR C
  double epsilon = 1.0;                  // SVR insensitivity, in years
  double c_gender = 10;                  // SVM C
  double gamma = 0;                      // RBF kernel exp(-gamma |a-b|^2); 0: 1 / pca_dims
  long cache_mb = 1000;                  // dlib kernel cache per machine
  std::uint64_t seed = 42;               // draws the subset
};
// kInvalidArgument naming the key.
void validate(const BaselineOptions& options);
nlohmann::json to_json(const BaselineOptions& options);
// Missing keys keep their defaults; wrong types are kConfig.
BaselineOptions baseline_options_from_json(const nlohmann::json& json);

// Labelled crops for fit. genders: 0 male, 1 female, -1 unknown (left out of the gender SVM).
struct LabelledCrops {
  std::vector<cv::Mat> crops;
  std::vector<double> ages;
  std::vector<int> genders;
};

struct FitReport {
  std::size_t samples = 0;         // crops the machines were fitted on (after the cap)
  std::size_t gender_samples = 0;  // of those, with a known gender
  std::size_t age_support_vectors = 0, gender_support_vectors = 0;
  int pca_dims = 0;                // components actually kept
  double seconds = 0;              // HOG + PCA + both fits
};

struct BaselineAnswer {
  double age = 0;                     // clamped to [0, 120]
  std::optional<double> female_prob;  // logistic squash of the SVM margin (not calibrated);
                                      // unset when the model has no gender SVM
};

class BaselineModel {
 public:
  // Fits on `data` (a random subset of max_train_samples when larger, drawn with `seed`).
  // kInvalidArgument for fewer than 2 crops, mismatched sizes or invalid options. The gender SVM is
  // fitted only when both genders occur.
  static BaselineModel fit(const LabelledCrops& data, const BaselineOptions& options, FitReport* report = nullptr);
  // kNotFound for a missing file; kModel for a file that is not a baseline model (wrong magic,
  // e.g. a network bundle), a newer format version, or a truncated/corrupt one.
  static BaselineModel load(const std::string& path);
  // Written to a temp file beside `path` and renamed (kIo when it cannot be written).
  void save(const std::string& path) const;

  BaselineModel(BaselineModel&&) noexcept;
  BaselineModel& operator=(BaselineModel&&) noexcept;
  ~BaselineModel();

  // One answer per crop (crops as hog_features takes them). Thread-safe.
  std::vector<BaselineAnswer> predict(const std::vector<cv::Mat>& crops) const;

  const BaselineOptions& options() const;
  bool has_gender() const;
  // Saved with the model: callers record the face pipeline ("face_pipeline"), the residual spread
  // ("age_residual_std"), the training data and metrics here. fit fills "options" and "fit".
  const nlohmann::json& info() const;
  nlohmann::json& info();

 private:
  BaselineModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceage::baseline
