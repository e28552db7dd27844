// Classical baseline for the model comparison (docs/model-card.md): HOG features of the same aligned
// crops the networks train on, PCA, then dlib's RBF support-vector regressor for age and an RBF SVM
// for gender. Trained on a subset of the train split (kernel SVMs scale quadratically), scored on the
// val and test splits with the eval module's metrics.
//
//   baseline_hog_svr --train train.csv --val val.csv --test test.csv --cache-dir ~/faceage-runs/cache
//                    [--train-samples 6000] [--out results.json]
#include <dlib/svm.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "faceage/core/context.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/manifest.hpp"
#include "faceage/eval/metrics.hpp"
#include "faceage/train/crop_cache.hpp"

namespace {

using namespace faceage;
using Sample = dlib::matrix<double, 0, 1>;
using Kernel = dlib::radial_basis_kernel<Sample>;

// HOG over the central face region at 64x64: 7x7 blocks of 2x2 cells, 9 bins = 1,764 values.
cv::Mat hog_features(const train::CropSet& crops) {
  cv::HOGDescriptor hog(cv::Size(64, 64), cv::Size(16, 16), cv::Size(8, 8), cv::Size(8, 8), 9);
  cv::Mat features(static_cast<int>(crops.size()), static_cast<int>(hog.getDescriptorSize()), CV_32F);
  for (std::size_t i = 0; i < crops.size(); ++i) {
    cv::Mat gray, small;
    cv::cvtColor(crops.crop(i), gray, cv::COLOR_RGB2GRAY);
    const int margin = gray.cols / 10;  // the template leaves background at the borders
    cv::resize(gray(cv::Rect(margin, margin, gray.cols - 2 * margin, gray.rows - 2 * margin)), small,
               cv::Size(64, 64), 0, 0, cv::INTER_AREA);
    std::vector<float> d;
    hog.compute(small, d);
    std::copy(d.begin(), d.end(), features.ptr<float>(static_cast<int>(i)));
  }
  return features;
}

std::vector<Sample> to_samples(const cv::Mat& projected) {
  std::vector<Sample> out(projected.rows);
  for (int r = 0; r < projected.rows; ++r) {
    out[r].set_size(projected.cols);
    for (int c = 0; c < projected.cols; ++c) out[r](c) = projected.at<float>(r, c);
  }
  return out;
}

train::CropSet load(const std::string& manifest, const train::CropCacheOptions& options, const Context& ctx) {
  train::CropSetReport report;
  auto set = train::CropSet::build(data::read_manifest(manifest), options, ctx, &report);
  std::fprintf(stderr, "%s: %zu crops (%zu failed) in %.1fs\n", manifest.c_str(), set.size(), report.failed,
               report.seconds);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("HOG + RBF-SVR age / RBF-SVM gender baseline on faceage's aligned crops");
  std::string train_csv, val_csv, test_csv, cache_dir, out_json;
  std::size_t train_samples = 6000;
  int pca_dims = 128;
  double c_age = 10, c_gender = 10, epsilon = 1.0;
  app.add_option("--train", train_csv)->required();
  app.add_option("--val", val_csv)->required();
  app.add_option("--test", test_csv);
  app.add_option("--cache-dir", cache_dir, "crop cache shared with faceage train")->required();
  app.add_option("--train-samples", train_samples, "random train subset for the kernel machines");
  app.add_option("--pca", pca_dims, "PCA dimensions");
  app.add_option("--c-age", c_age);
  app.add_option("--c-gender", c_gender);
  app.add_option("--epsilon", epsilon, "SVR insensitivity in years");
  app.add_option("--out", out_json, "write the metrics as JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    Context ctx = Context::make({});
    train::CropCacheOptions options;
    options.cache_dir = cache_dir;
    options.progress = false;
    const auto start = std::chrono::steady_clock::now();
    auto train_set = load(train_csv, options, ctx);

    std::vector<std::size_t> order(train_set.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(std::min(order.size(), train_samples));
    const cv::Mat all_train = hog_features(train_set);
    cv::Mat train_features(static_cast<int>(order.size()), all_train.cols, CV_32F);
    for (std::size_t i = 0; i < order.size(); ++i) all_train.row(static_cast<int>(order[i])).copyTo(train_features.row(static_cast<int>(i)));

    // PCA then scale every component to unit variance, so one RBF width fits all.
    cv::PCA pca(train_features, cv::Mat(), cv::PCA::DATA_AS_ROW, pca_dims);
    cv::Mat projected = pca.project(train_features);
    cv::Mat mean, stddev;
    cv::Mat scale(1, projected.cols, CV_32F);
    for (int c = 0; c < projected.cols; ++c) {
      cv::meanStdDev(projected.col(c), mean, stddev);
      scale.at<float>(0, c) = 1.f / static_cast<float>(std::max(stddev.at<double>(0), 1e-6));
    }
    auto prepare = [&](const cv::Mat& features) {
      cv::Mat p = pca.project(features);
      for (int r = 0; r < p.rows; ++r) cv::multiply(p.row(r), scale, p.row(r));
      return to_samples(p);
    };
    const auto samples = prepare(train_features);
    std::vector<double> ages;
    std::vector<Sample> gender_samples;
    std::vector<double> gender_labels;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& s = train_set.sample(order[i]);
      ages.push_back(s.age);
      if (s.gender >= 0) {
        gender_samples.push_back(samples[i]);
        gender_labels.push_back(s.gender == 1 ? 1.0 : -1.0);
      }
    }
    const double gamma = 1.0 / pca_dims;
    dlib::svr_trainer<Kernel> svr;
    svr.set_kernel(Kernel(gamma));
    svr.set_c(c_age);
    svr.set_epsilon_insensitivity(epsilon);
    svr.set_cache_size(2000);
    const auto age_model = svr.train(samples, ages);
    dlib::svm_c_trainer<Kernel> svm;
    svm.set_kernel(Kernel(gamma));
    svm.set_c(c_gender);
    svm.set_cache_size(2000);
    const auto gender_model = svm.train(gender_samples, gender_labels);
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "trained on %zu crops in %.0fs: %lu age / %lu gender support vectors\n", order.size(),
                 train_seconds, age_model.basis_vectors.size(), gender_model.basis_vectors.size());

    nlohmann::json result = {{"method", "HOG 64x64 (1764) -> PCA " + std::to_string(pca_dims) +
                                            " -> dlib RBF SVR (age) / RBF SVM (gender)"},
                             {"train_samples", order.size()}, {"c_age", c_age}, {"c_gender", c_gender},
                             {"epsilon", epsilon}, {"gamma", gamma}, {"train_seconds", train_seconds}};
    for (const auto& [name, csv] : {std::pair<std::string, std::string>{"val", val_csv}, {"test", test_csv}}) {
      if (csv.empty()) continue;
      auto set = load(csv, options, ctx);
      const auto test_samples = prepare(hog_features(set));
      std::vector<eval::EvalRecord> records;
      for (std::size_t i = 0; i < set.size(); ++i) {
        const auto& s = set.sample(i);
        eval::EvalRecord r;
        r.file = set.manifest().rows[s.row].file;
        r.true_age = s.age;
        r.true_gender = s.gender == 1 ? "female" : s.gender == 0 ? "male" : "";
        r.race = s.race;
        r.pred_age = std::clamp(age_model(test_samples[i]), 0.0, 100.0);
        const double g = gender_model(test_samples[i]);
        r.pred_gender = g > 0 ? "female" : "male";
        r.female_prob = 1.0 / (1.0 + std::exp(-2.0 * g));  // a squashed margin, not calibrated
        records.push_back(r);
      }
      const auto m = eval::compute_metrics(records);
      std::printf("%s: n=%zu MAE %.2f RMSE %.2f CS@5 %.1f%% gender %.1f%%\n", name.c_str(), records.size(), m.age.mae,
                  m.age.rmse, 100 * m.age.cs5, 100 * m.gender.accuracy);
      result[name] = {{"n", records.size()}, {"mae", m.age.mae}, {"rmse", m.age.rmse}, {"cs5", m.age.cs5},
                      {"gender_accuracy", m.gender.accuracy}};
    }
    if (!out_json.empty()) write_file_atomic(out_json, result.dump(2) + "\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
