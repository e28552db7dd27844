// dlib_resnet: the architecture against synthetic tfjs weights (always), and the shared
// face-recognition weights against dlib's own same-person threshold (when ../shared is present).
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/models/batchnorm.hpp"
#include "faceage/models/model.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/models/weights_import.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

// The preprocessing dlib trained with, (rgb - mean RGB) / 256, in PreprocessSpec's (rgb/255 - mean)/std
// form; configs/train/dlib_resnet.yaml carries the same numbers into the bundle.
PreprocessSpec dlib_preprocess() {
  PreprocessSpec spec;
  spec.input_size = 150;
  spec.mean = {122.782f / 255, 117.001f / 255, 104.298f / 255};
  spec.std = {256.0f / 255, 256.0f / 255, 256.0f / 255};
  return spec;
}

BackbonePtr dlib_backbone_with_descriptor() {
  BackboneOptions options;
  options.imagenet_classes = 1;  // keeps the descriptor layer (fc)
  return builtin_backbones().create("dlib_resnet", options);
}

// torch name/layout -> the tfjs name/layout face-api.js uses (the inverse of read_tfjs_weights).
std::pair<std::string, torch::Tensor> to_tfjs(const std::string& name, const torch::Tensor& t) {
  auto parts = split(name, '.');
  const bool conv = parts.size() >= 2 && parts[parts.size() - 2] == "conv";
  if (name == "fc.weight") return {"fc", t.t().contiguous()};
  if (parts.back() == "weight") parts.back() = conv ? "filters" : "weights";
  if (parts.back() == "bias" && !conv) parts.back() = "biases";
  return {join(parts, "/"), t.dim() == 4 ? t.permute({2, 3, 1, 0}).contiguous() : t.contiguous()};
}

// Writes every parameter of `backbone` as a tfjs manifest + .bin in face-api.js's form: conv
// filters quantised to uint8 (value = min + q * scale), the rest raw float32. Returns the weights
// the reader should reproduce (the filters after quantisation).
std::map<std::string, torch::Tensor> write_tfjs_weights(torch::nn::Module& backbone, const std::string& folder) {
  nlohmann::json weights = nlohmann::json::array();
  std::vector<std::uint8_t> bytes;
  std::map<std::string, torch::Tensor> expected;
  for (const auto& item : backbone.named_parameters()) {
    auto [name, tensor] = to_tfjs(item.key(), item.value().detach());
    nlohmann::json entry{{"name", name}, {"shape", tensor.sizes().vec()}, {"dtype", "float32"}};
    if (tensor.dim() == 4) {
      const float min = tensor.min().item<float>(), max = tensor.max().item<float>();
      const float scale = (max - min) / 255.0f;
      auto q = ((tensor - min) / scale).round().clamp(0, 255).to(torch::kUInt8).contiguous();
      entry["quantization"] = {{"dtype", "uint8"}, {"scale", scale}, {"min", min}};
      bytes.insert(bytes.end(), q.data_ptr<std::uint8_t>(), q.data_ptr<std::uint8_t>() + q.numel());
      expected[item.key()] = (q.to(torch::kFloat) * scale + min).permute({3, 2, 0, 1});
    } else {
      auto raw = tensor.to(torch::kFloat).contiguous();
      auto* p = reinterpret_cast<const std::uint8_t*>(raw.data_ptr<float>());
      bytes.insert(bytes.end(), p, p + raw.numel() * 4);
      expected[item.key()] = item.value().detach().clone();
    }
    weights.push_back(entry);
  }
  write_file_atomic(folder + "/model.bin", bytes);
  write_file_atomic(folder + "/manifest.json", nlohmann::json::array({{{"paths", {"model.bin"}}, {"weights", weights}}}).dump());
  return expected;
}

TEST(DlibResNet, SyntheticTfjsWeightsLoadByNameAndShapes) {
  torch::manual_seed(11);
  auto source = dlib_backbone_with_descriptor();
  {
    // Non-trivial scale layers and biases, so a wrong name or layout changes the output.
    torch::NoGradGuard no_grad;
    for (auto& p : source->parameters()) {
      if (p.dim() == 1) p.uniform_(0.5, 1.5);
    }
  }
  testing::TempDir dir;
  const auto expected = write_tfjs_weights(*source, dir.path().string());
  // The same tensors as face-api.js's file: a 4-tensor stem, 14 blocks of 8, fc; its
  // 5,338,112 uint8 + 276,480 float32 values.
  EXPECT_EQ(expected.size(), 117u);
  int64_t values = 0;
  for (const auto& p : source->parameters()) values += p.numel();
  EXPECT_EQ(values, 5338112 + 276480);

  auto loaded = dlib_backbone_with_descriptor();
  ImportOptions strict;
  strict.strict = true;
  auto report = load_pretrained_weights(*loaded, dir.file("manifest.json"), strict);
  EXPECT_EQ(report.loaded.size(), 117u);
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(torch::allclose(item.value(), expected.at(item.key()), 1e-5, 1e-6)) << item.key();
  }
  // Forward at the native size: 256-d pooled features, 128-d descriptor; the loaded copy answers
  // as the source does (within the filters' 8-bit quantisation).
  source->eval();
  loaded->eval();
  torch::NoGradGuard no_grad;
  auto images = torch::randn({2, 3, 150, 150});
  auto features = loaded->forward_features(images);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(loaded->forward_classifier(features).sizes(), (std::vector<int64_t>{2, 128}));
  auto reference = source->forward_features(images);
  const double relative = ((features - reference).abs().max() / reference.abs().max()).item<double>();
  EXPECT_LT(relative, 0.05);
  EXPECT_GT(relative, 0.0) << "quantised filters should differ a little";
}

// An age/gender model on dlib_resnet with every block active, like pretrained weights (the
// registry's init zeroes each branch's last scale): positive scales and biases.
AgeGenderModel active_dlib_model(uint64_t seed) {
  torch::manual_seed(seed);
  ModelOptions options;
  options.arch = "dlib_resnet";
  auto model = create_model(options);
  torch::NoGradGuard no_grad;
  for (auto& p : model->backbone()->parameters()) {
    if (p.dim() == 1) p.uniform_(0.2, 0.6);
  }
  return model;
}

TEST(DlibResNet, PretrainedWeightsGetGradientsAndTrainingKeepsFeatures) {
  auto model = active_dlib_model(5);
  auto images = torch::randn({4, 3, 150, 150});
  model->eval();
  torch::Tensor eval_features;
  {
    torch::NoGradGuard no_grad;
    eval_features = model->forward(images).features;
  }
  // No batch statistics anywhere: training mode gives the eval features (the scale layers are
  // affine maps, not BatchNorm), so fine-tuning starts from what the pretrained network computes.
  model->train();
  auto out = model->forward(images);
  EXPECT_TRUE(torch::allclose(out.features, eval_features, 1e-5, 1e-5));
  (out.age.mean() + out.gender_logits.pow(2).mean()).backward();
  for (const auto& item : model->backbone()->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key() << " gets no gradient";
  }
}

TEST(DlibResNet, FoldsScaleLayersForInferenceAndRejectsTinyInputs) {
  auto model = active_dlib_model(3);
  model->eval();
  torch::NoGradGuard no_grad;
  auto images = torch::randn({2, 3, 150, 150});
  auto expected = model->forward(images);
  EXPECT_EQ(fuse_batchnorm_for_inference(model), 29);  // every conv's scale layer
  auto fused = model->forward(images);
  const double scale = expected.features.abs().max().item<double>();
  EXPECT_LE((fused.features - expected.features).abs().max().item<double>() / scale, 1e-4);
  // Other sizes work down to the smallest that keeps a 3x3 window for the last downsampling conv.
  EXPECT_EQ(model->forward(torch::randn({1, 3, 103, 120})).features.size(1), 256);
  try {
    model->forward(torch::randn({1, 3, 96, 96}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("103"), std::string::npos) << e.what();
  }
}

// The shared weights give dlib's descriptor: one face and its mirror, or the same face cropped
// with another margin, closer than dlib's same-person threshold 0.6; different people farther.
TEST(SharedDlibResNet, DescriptorsSeparatePeopleAtDlibsThreshold) {
  const std::string root = std::string(FACEAGE_SOURCE_DIR) + "/../shared/";
  const std::string manifest = root + "weights/face_recognition_model-weights_manifest.json";
  const std::string images = root + "data/utkface/images/";
  if (!std::filesystem::exists(manifest) || !std::filesystem::exists(images)) {
    GTEST_SKIP() << "shared dlib weights or UTKFace crops absent";
  }
  auto backbone = dlib_backbone_with_descriptor();
  ImportOptions strict;
  strict.strict = true;
  EXPECT_EQ(load_pretrained_weights(*backbone, manifest, strict).loaded.size(), 117u);
  backbone->eval();
  torch::NoGradGuard no_grad;

  // Three different people (age, gender, race in the name differ).
  const std::vector<std::string> people{"30_0_0_20170103181149464.jpg.chip.jpg",
                                        "25_1_2_20161219194224315.jpg.chip.jpg",
                                        "60_0_1_20170111171747543.jpg.chip.jpg"};
  std::vector<cv::Mat> crops;
  for (const auto& file : people) {
    cv::Mat bgr = cv::imread(images + file, cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << file;
    cv::Mat rgb, mirror;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::flip(rgb, mirror, 1);
    const int margin = rgb.cols / 20;  // 5 % less margin on every side
    crops.push_back(rgb);
    crops.push_back(mirror);
    crops.push_back(rgb(cv::Rect(margin, margin, rgb.cols - 2 * margin, rgb.rows - 2 * margin)).clone());
  }
  auto descriptors = backbone->forward_classifier(backbone->forward_features(images_to_tensor(crops, dlib_preprocess())));
  auto distance = [&](size_t a, size_t b) { return (descriptors[a] - descriptors[b]).norm().item<double>(); };
  for (size_t p = 0; p < people.size(); ++p) {
    const double mirror = distance(3 * p, 3 * p + 1), margin = distance(3 * p, 3 * p + 2);
    std::printf("%s: mirror %.3f, other margin %.3f\n", people[p].c_str(), mirror, margin);
    EXPECT_LT(mirror, 0.6) << people[p];
    EXPECT_LT(margin, 0.6) << people[p];
    for (size_t q = p + 1; q < people.size(); ++q) {
      const double different = distance(3 * p, 3 * q);
      std::printf("%s vs %s: %.3f\n", people[p].c_str(), people[q].c_str(), different);
      EXPECT_GT(different, 0.6) << people[p] << " vs " << people[q];
    }
  }
}

}  // namespace
}  // namespace faceage::models
