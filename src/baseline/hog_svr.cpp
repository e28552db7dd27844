#include "faceage/baseline/hog_svr.hpp"

#include <dlib/svm.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::baseline {

namespace {

using Sample = dlib::matrix<double, 0, 1>;
using Kernel = dlib::radial_basis_kernel<Sample>;
using Function = dlib::decision_function<Kernel>;

constexpr char kMagic[] = "FACEAGE-BASELINE\n";
constexpr std::size_t kMagicSize = sizeof(kMagic) - 1;

cv::HOGDescriptor make_hog(const HogOptions& o) {
  return cv::HOGDescriptor(cv::Size(o.window, o.window), cv::Size(2 * o.cell, 2 * o.cell), cv::Size(o.cell, o.cell),
                           cv::Size(o.cell, o.cell), o.bins);
}

double kernel_gamma(const BaselineOptions& options, int dims) {
  return options.gamma > 0 ? options.gamma : 1.0 / std::max(1, dims);
}

}  // namespace

int hog_length(const HogOptions& o) {
  const int blocks = o.window / o.cell - 1;
  return blocks * blocks * 4 * o.bins;
}

cv::Mat hog_features(const std::vector<cv::Mat>& crops, const HogOptions& options) {
  auto hog = make_hog(options);
  cv::Mat features(static_cast<int>(crops.size()), hog_length(options), CV_32F);
  for (std::size_t i = 0; i < crops.size(); ++i) {
    const cv::Mat& crop = crops[i];
    FACEAGE_CHECK(!crop.empty() && crop.depth() == CV_8U && (crop.channels() == 3 || crop.channels() == 1),
                  ErrorCode::kInvalidArgument, "HOG needs 8-bit RGB or gray crops; crop " << i << " is not one");
    cv::Mat gray = crop;
    if (crop.channels() == 3) cv::cvtColor(crop, gray, cv::COLOR_RGB2GRAY);
    const int mx = static_cast<int>(std::lround(gray.cols * options.margin));
    const int my = static_cast<int>(std::lround(gray.rows * options.margin));
    FACEAGE_CHECK(gray.cols - 2 * mx >= 8 && gray.rows - 2 * my >= 8, ErrorCode::kInvalidArgument,
                  "crop " << i << " (" << gray.cols << "x" << gray.rows << ") is too small for HOG after the margin");
    cv::Mat small;
    cv::resize(gray(cv::Rect(mx, my, gray.cols - 2 * mx, gray.rows - 2 * my)), small,
               cv::Size(options.window, options.window), 0, 0, cv::INTER_AREA);
    std::vector<float> d;
    hog.compute(small, d);
    FACEAGE_ENSURE(static_cast<int>(d.size()) == features.cols, "HOG length " << d.size());
    std::copy(d.begin(), d.end(), features.ptr<float>(static_cast<int>(i)));
  }
  return features;
}

void validate(const BaselineOptions& o) {
  auto check = [](bool ok, const char* key, const std::string& what) {
    FACEAGE_CHECK(ok, ErrorCode::kInvalidArgument, "baseline option '" << key << "' " << what);
  };
  check(o.hog.cell >= 2, "hog.cell", "must be >= 2, got " + std::to_string(o.hog.cell));
  check(o.hog.window >= 2 * o.hog.cell && o.hog.window % o.hog.cell == 0, "hog.window",
        "must be a multiple of hog.cell and at least two cells, got " + std::to_string(o.hog.window));
  check(o.hog.bins >= 2 && o.hog.bins <= 36, "hog.bins", "must be in [2, 36], got " + std::to_string(o.hog.bins));
  check(o.hog.margin >= 0 && o.hog.margin < 0.45, "hog.margin", "must be in [0, 0.45)");
  check(o.pca_dims >= 1, "pca_dims", "must be >= 1, got " + std::to_string(o.pca_dims));
  check(o.max_train_samples >= 2, "max_train_samples", "must be >= 2");
  check(o.c_age > 0, "c_age", "must be > 0");
  check(o.c_gender > 0, "c_gender", "must be > 0");
  check(o.epsilon > 0, "epsilon", "must be > 0 (years)");
  check(o.gamma >= 0, "gamma", "must be >= 0 (0: 1 / pca_dims)");
  check(o.cache_mb >= 1, "cache_mb", "must be >= 1");
}

nlohmann::json to_json(const BaselineOptions& o) {
  return {{"hog", {{"window", o.hog.window}, {"cell", o.hog.cell}, {"bins", o.hog.bins}, {"margin", o.hog.margin}}},
          {"pca_dims", o.pca_dims}, {"max_train_samples", o.max_train_samples}, {"c_age", o.c_age},
          {"epsilon", o.epsilon}, {"c_gender", o.c_gender}, {"gamma", o.gamma}, {"cache_mb", o.cache_mb},
          {"seed", o.seed}};
}

BaselineOptions baseline_options_from_json(const nlohmann::json& json) {
  BaselineOptions o;
  try {
    const auto hog = json.value("hog", nlohmann::json::object());
    o.hog.window = hog.value("window", o.hog.window);
    o.hog.cell = hog.value("cell", o.hog.cell);
    o.hog.bins = hog.value("bins", o.hog.bins);
    o.hog.margin = hog.value("margin", o.hog.margin);
    o.pca_dims = json.value("pca_dims", o.pca_dims);
    o.max_train_samples = json.value("max_train_samples", o.max_train_samples);
    o.c_age = json.value("c_age", o.c_age);
    o.epsilon = json.value("epsilon", o.epsilon);
    o.c_gender = json.value("c_gender", o.c_gender);
    o.gamma = json.value("gamma", o.gamma);
    o.cache_mb = json.value("cache_mb", o.cache_mb);
    o.seed = json.value("seed", o.seed);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kConfig, std::string("baseline options: ") + e.what());
  }
  return o;
}

struct BaselineModel::Impl {
  BaselineOptions options;
  nlohmann::json info = nlohmann::json::object();
  std::vector<float> mean;   // HOG length
  std::vector<float> basis;  // dims x HOG length, row-major
  std::vector<float> scale;  // dims
  Function age;
  bool has_gender = false;
  Function gender;

  int dims() const { return static_cast<int>(scale.size()); }

  // HOG -> centred -> projected -> scaled, one dlib sample per crop.
  std::vector<Sample> samples(const cv::Mat& features) const {
    const int length = static_cast<int>(mean.size());
    FACEAGE_CHECK(features.cols == length, ErrorCode::kModel,
                  "baseline model expects " << length << " HOG values, got " << features.cols);
    std::vector<Sample> out(static_cast<std::size_t>(features.rows));
    std::vector<double> centred(static_cast<std::size_t>(length));
    for (int r = 0; r < features.rows; ++r) {
      const float* f = features.ptr<float>(r);
      for (int c = 0; c < length; ++c) centred[c] = static_cast<double>(f[c]) - mean[c];
      out[r].set_size(dims());
      for (int k = 0; k < dims(); ++k) {
        const float* b = basis.data() + static_cast<std::size_t>(k) * length;
        double dot = 0;
        for (int c = 0; c < length; ++c) dot += centred[c] * b[c];
        out[r](k) = dot * scale[k];
      }
    }
    return out;
  }
};

BaselineModel::BaselineModel() : impl_(std::make_unique<Impl>()) {}
BaselineModel::BaselineModel(BaselineModel&&) noexcept = default;
BaselineModel& BaselineModel::operator=(BaselineModel&&) noexcept = default;
BaselineModel::~BaselineModel() = default;

const BaselineOptions& BaselineModel::options() const { return impl_->options; }
bool BaselineModel::has_gender() const { return impl_->has_gender; }
const nlohmann::json& BaselineModel::info() const { return impl_->info; }
nlohmann::json& BaselineModel::info() { return impl_->info; }

BaselineModel BaselineModel::fit(const LabelledCrops& data, const BaselineOptions& options, FitReport* report) {
  validate(options);
  const std::size_t n_all = data.crops.size();
  FACEAGE_CHECK(data.ages.size() == n_all && data.genders.size() == n_all, ErrorCode::kInvalidArgument,
                "baseline fit: " << n_all << " crops but " << data.ages.size() << " ages and " << data.genders.size()
                                 << " genders");
  FACEAGE_CHECK(n_all >= 2, ErrorCode::kInvalidArgument, "baseline fit needs at least 2 labelled crops, got " << n_all);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::size_t> order(n_all);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(std::min(n_all, options.max_train_samples));
  std::vector<cv::Mat> crops;
  crops.reserve(order.size());
  for (auto i : order) crops.push_back(data.crops[i]);
  const cv::Mat features = hog_features(crops, options.hog);

  BaselineModel model;
  auto& m = *model.impl_;
  m.options = options;
  // PCA, then every component scaled to unit variance so that one RBF width fits all.
  const int dims = std::min({options.pca_dims, features.rows, features.cols});
  cv::PCA pca(features, cv::Mat(), cv::PCA::DATA_AS_ROW, dims);
  m.mean.assign(pca.mean.ptr<float>(0), pca.mean.ptr<float>(0) + pca.mean.cols);
  cv::Mat basis = pca.eigenvectors.isContinuous() ? pca.eigenvectors : pca.eigenvectors.clone();
  m.basis.assign(basis.ptr<float>(0), basis.ptr<float>(0) + basis.total());
  m.scale.assign(static_cast<std::size_t>(basis.rows), 1.f);
  const cv::Mat projected = pca.project(features);
  for (int c = 0; c < projected.cols; ++c) {
    cv::Scalar mean, stddev;
    cv::meanStdDev(projected.col(c), mean, stddev);
    // A component without spread carries no signal; scaling it up would only amplify noise.
    m.scale[c] = stddev[0] > 1e-6 ? static_cast<float>(1.0 / stddev[0]) : 0.f;
  }
  const auto samples = m.samples(features);
  const double gamma = kernel_gamma(options, m.dims());

  std::vector<double> ages;
  std::vector<Sample> gender_samples;
  std::vector<double> gender_labels;
  bool male = false, female = false;
  for (std::size_t i = 0; i < order.size(); ++i) {
    ages.push_back(data.ages[order[i]]);
    const int g = data.genders[order[i]];
    if (g == 0 || g == 1) {
      gender_samples.push_back(samples[i]);
      gender_labels.push_back(g == 1 ? 1.0 : -1.0);
      (g == 1 ? female : male) = true;
    }
  }
  dlib::svr_trainer<Kernel> svr;
  svr.set_kernel(Kernel(gamma));
  svr.set_c(options.c_age);
  svr.set_epsilon_insensitivity(options.epsilon);
  svr.set_cache_size(options.cache_mb);
  m.age = svr.train(samples, ages);
  m.has_gender = male && female;
  if (m.has_gender) {
    dlib::svm_c_trainer<Kernel> svm;
    svm.set_kernel(Kernel(gamma));
    svm.set_c(options.c_gender);
    svm.set_cache_size(options.cache_mb);
    m.gender = svm.train(gender_samples, gender_labels);
  }
  FitReport r;
  r.samples = order.size();
  r.gender_samples = m.has_gender ? gender_samples.size() : 0;
  r.age_support_vectors = static_cast<std::size_t>(m.age.basis_vectors.size());
  r.gender_support_vectors = m.has_gender ? static_cast<std::size_t>(m.gender.basis_vectors.size()) : 0;
  r.pca_dims = m.dims();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.info["options"] = to_json(options);
  m.info["fit"] = {{"samples", r.samples}, {"gender_samples", r.gender_samples},
                   {"age_support_vectors", r.age_support_vectors},
                   {"gender_support_vectors", r.gender_support_vectors}, {"pca_dims", r.pca_dims},
                   {"gamma", gamma}, {"seconds", r.seconds}};
  if (report) *report = r;
  return model;
}

std::vector<BaselineAnswer> BaselineModel::predict(const std::vector<cv::Mat>& crops) const {
  std::vector<BaselineAnswer> answers(crops.size());
  if (crops.empty()) return answers;
  const auto samples = impl_->samples(hog_features(crops, impl_->options.hog));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    answers[i].age = std::clamp(impl_->age(samples[i]), 0.0, 120.0);
    if (impl_->has_gender) answers[i].female_prob = 1.0 / (1.0 + std::exp(-2.0 * impl_->gender(samples[i])));
  }
  return answers;
}

void BaselineModel::save(const std::string& path) const {
  std::ostringstream out(std::ios::binary);
  out.write(kMagic, static_cast<std::streamsize>(kMagicSize));
  const auto& m = *impl_;
  dlib::serialize(kModelFormatVersion, out);
  dlib::serialize(m.info.dump(), out);
  dlib::serialize(m.mean, out);
  dlib::serialize(m.basis, out);
  dlib::serialize(m.scale, out);
  dlib::serialize(m.age, out);
  dlib::serialize(m.has_gender, out);
  if (m.has_gender) dlib::serialize(m.gender, out);
  write_file_atomic(path, out.str());
}

BaselineModel BaselineModel::load(const std::string& path) {
  FACEAGE_CHECK(std::filesystem::is_regular_file(path), ErrorCode::kNotFound, "baseline model '" << path << "' does not exist");
  std::ifstream file(path, std::ios::binary);
  FACEAGE_CHECK(file, ErrorCode::kIo, "cannot read '" << path << "'");
  std::string magic(kMagicSize, '\0');
  file.read(magic.data(), static_cast<std::streamsize>(kMagicSize));
  if (!file || magic != kMagic) {
    throw Error(ErrorCode::kModel, "'" + path + "' is not a faceage baseline model (no FACEAGE-BASELINE header)",
                "baseline models are written by `faceage baseline train --out MODEL.fabl`; network bundles (.fab) "
                "go to `faceage predict --model` or `baseline predict --with-model`");
  }
  BaselineModel model;
  auto& m = *model.impl_;
  try {
    int version = 0;
    dlib::deserialize(version, file);
    FACEAGE_CHECK(version >= 1 && version <= kModelFormatVersion, ErrorCode::kModel,
                  "'" << path << "' is baseline model format " << version << "; this faceage reads up to "
                      << kModelFormatVersion);
    std::string info;
    dlib::deserialize(info, file);
    m.info = nlohmann::json::parse(info);
    m.options = baseline_options_from_json(m.info.value("options", nlohmann::json::object()));
    dlib::deserialize(m.mean, file);
    dlib::deserialize(m.basis, file);
    dlib::deserialize(m.scale, file);
    dlib::deserialize(m.age, file);
    dlib::deserialize(m.has_gender, file);
    if (m.has_gender) dlib::deserialize(m.gender, file);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kModel, "'" + path + "' is a truncated or corrupt baseline model: " + e.what());
  }
  const std::size_t length = static_cast<std::size_t>(hog_length(m.options.hog));
  FACEAGE_CHECK(m.mean.size() == length && !m.scale.empty() && m.basis.size() == m.scale.size() * length &&
                    m.age.basis_vectors.size() > 0 && m.age.basis_vectors(0).size() == static_cast<long>(m.scale.size()),
                ErrorCode::kModel, "'" << path << "' is an inconsistent baseline model (sizes do not match its HOG settings)");
  return model;
}

}  // namespace faceage::baseline
