#include "faceage/models/weights_import.hpp"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdlib>
#include <fstream>

#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/models/tensor_io.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

// torch::pickle_save writes the torch.save zip format (the same reader path as Python's files).
void save_checkpoint(const std::string& path, const c10::impl::GenericDict& dict) {
  auto bytes = torch::jit::pickle_save(dict);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

c10::impl::GenericDict tensor_dict(const std::vector<std::pair<std::string, torch::Tensor>>& items) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [k, v] : items) dict.insert(k, v);
  return dict;
}

// A small module with torchvision-like names: fc.{weight,bias}, bn.{weight,bias,running_*}.
struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    fc = register_module("fc", torch::nn::Linear(4, 3));
    bn = register_module("bn", torch::nn::BatchNorm2d(3));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};

ErrorCode read_error(const std::string& path) {
  try {
    read_torch_checkpoint(path);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;
}

TEST(WeightsImport, ReportsMissingUnexpectedAndShapeMismatch) {
  testing::TempDir dir;
  save_checkpoint(dir.file("ck.pt"), tensor_dict({{"fc.weight", torch::ones({3, 4})},
                                                  {"fc.bias", torch::ones({5})},  // wrong shape
                                                  {"bn.weight", torch::full({3}, 2.0)},
                                                  {"extra.weight", torch::zeros({1})}}));
  TinyImpl tiny;
  auto report = load_state_dict(tiny, read_torch_checkpoint(dir.file("ck.pt")));
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"fc.weight", "bn.weight"}));
  EXPECT_EQ(report.unexpected, (std::vector<std::string>{"extra.weight"}));
  ASSERT_EQ(report.shape_mismatch.size(), 1u);
  EXPECT_TRUE(starts_with(report.shape_mismatch[0], "fc.bias: checkpoint [5] vs model [3]"));
  // num_batches_tracked is not reported (older checkpoints lack it).
  EXPECT_EQ(report.missing, (std::vector<std::string>{"bn.bias", "bn.running_mean", "bn.running_var"}));
  EXPECT_FALSE(report.complete());
  EXPECT_NE(report.to_string().find("missing (3)"), std::string::npos);
  EXPECT_TRUE(torch::equal(tiny.fc->weight, torch::ones({3, 4})));
  EXPECT_FLOAT_EQ(tiny.bn->weight[1].item<float>(), 2.0f);

  ImportOptions strict;
  strict.strict = true;
  try {
    load_state_dict(tiny, read_torch_checkpoint(dir.file("ck.pt")), strict);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("extra.weight"), std::string::npos);
  }
}

TEST(WeightsImport, UnwrapsStateDictAndStripsModulePrefixAndConvertsDtype) {
  testing::TempDir dir;
  TinyImpl source;
  c10::impl::GenericDict inner(c10::StringType::get(), c10::TensorType::get());
  for (const auto& item : source.named_parameters()) inner.insert("module." + item.key(), item.value().to(torch::kHalf));
  for (const auto& item : source.named_buffers()) inner.insert("module." + item.key(), item.value());
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert("epoch", int64_t{7});
  outer.insert("state_dict", inner);
  save_checkpoint(dir.file("wrapped.pt"), outer);

  TinyImpl target;
  auto report = load_state_dict(target, read_torch_checkpoint(dir.file("wrapped.pt")));
  EXPECT_TRUE(report.complete()) << report.to_string();
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_EQ(report.stripped_prefix, "module.");
  EXPECT_EQ(target.fc->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(target.fc->weight, source.fc->weight, 1e-3, 1e-3));
}

TEST(WeightsImport, BadFilesGiveErrorsNotCrashes) {
  testing::TempDir dir;
  EXPECT_EQ(read_error(dir.file("absent.pt")), ErrorCode::kNotFound);
  write_file_atomic(dir.file("text.pt"), std::string("hello, not a checkpoint"));
  EXPECT_EQ(read_error(dir.file("text.pt")), ErrorCode::kModel);

  save_checkpoint(dir.file("good.pt"), tensor_dict({{"a", torch::randn({64, 64})}}));
  auto bytes = read_file_bytes(dir.file("good.pt"));
  bytes.resize(bytes.size() * 2 / 3);
  write_file_atomic(dir.file("truncated.pt"), bytes);
  EXPECT_EQ(read_error(dir.file("truncated.pt")), ErrorCode::kModel);

  // A zip whose pickle is garbage or cut short.
  for (const std::string pickle : {std::string("\x80\x02}q\x00(X\x05\x00\x00\x00", 12), std::string("\x80\x02\xff", 3),
                                   std::string("\x80\x02h\x09.", 5)}) {
    caffe2::serialize::PyTorchStreamWriter writer(dir.file("bad_pickle.pt"));
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeEndOfFile();
    EXPECT_EQ(read_error(dir.file("bad_pickle.pt")), ErrorCode::kModel);
  }
  // A checkpoint without tensors.
  c10::impl::GenericDict meta(c10::StringType::get(), c10::IntType::get());
  meta.insert("epoch", int64_t{3});
  save_checkpoint(dir.file("meta.pt"), meta);
  try {
    read_torch_checkpoint(dir.file("meta.pt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("epoch"), std::string::npos);
  }
}

// Parity with Debian's python3-torchvision: same weights, same input, same 1000 logits. One test
// (one Python run) for the three families, to keep ctest's process-per-test cost down.
TEST(TorchvisionParity, Resnet18MobilenetV2EfficientnetB0) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is absent";
  testing::TempDir dir;
  const std::string script = std::string(FACEAGE_SOURCE_DIR) + "/tests/models/make_parity_fixture.py";
  const std::vector<std::string> archs{"resnet18", "mobilenet_v2", "efficientnet_b0"};
  const int status = std::system(("/usr/bin/python3 " + script + " " + dir.path().string() + " " + join(archs, " ")).c_str());
  if (status != 0) GTEST_SKIP() << "/usr/bin/python3 cannot build the torchvision fixtures (status " << status << ")";

  BackboneOptions options;
  options.imagenet_classes = 1000;
  ImportOptions strict;
  strict.strict = true;
  for (const auto& arch : archs) {
    auto input = read_torch_checkpoint(dir.file(arch + "_input.pt")).at(0).second;
    auto expected = read_torch_checkpoint(dir.file(arch + "_logits.pt")).at(0).second;
    for (const std::string form : {"_ordered.pth", "_plain.pt"}) {
      auto backbone = builtin_backbones().create(arch, options);
      auto report = load_torchvision_weights(*backbone, dir.file(arch + form), strict);
      EXPECT_TRUE(report.complete() && report.unexpected.empty()) << report.to_string();
      backbone->eval();
      torch::NoGradGuard no_grad;
      auto logits = backbone->forward_classifier(backbone->forward_features(input));
      ASSERT_EQ(logits.sizes(), expected.sizes());
      const double diff = (logits - expected).abs().max().item<double>();
      EXPECT_LE(diff, 1e-4) << arch << form;
      if (form == std::string("_ordered.pth")) {
        std::printf("parity %s: max |logit diff| %.3g (logit scale %.3g)\n", arch.c_str(), diff,
                    expected.abs().max().item<double>());
      }
    }
  }
}

TEST(SharedMobileNet, ClassifiesTheCheckImageAsACat) {
  const std::string weights = std::string(FACEAGE_SOURCE_DIR) + "/../shared/weights/";
  if (!std::filesystem::exists(weights + "mobilenet_v2_imagenet.pt")) GTEST_SKIP() << "shared weights absent";
  ModelOptions options;
  options.arch = "mobilenet_v2";
  options.imagenet_classes = 1000;
  auto model = create_model(options);
  ImportOptions strict;
  strict.strict = true;
  auto report = load_torchvision_weights(*model, weights + "mobilenet_v2_imagenet.pt", strict);
  EXPECT_EQ(report.loaded.size(), 314u);

  cv::Mat bgr = cv::imread(weights + "imagenet_check_cat.bmp", cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  PreprocessSpec spec;
  spec.input_size = 224;
  spec.mean = {0.5f, 0.5f, 0.5f};
  spec.std = {0.5f, 0.5f, 0.5f};  // x/127.5 - 1
  model->eval();
  torch::NoGradGuard no_grad;
  auto backbone = model->backbone();
  auto probs = torch::softmax(backbone->forward_classifier(backbone->forward_features(images_to_tensor({rgb}, spec))), 1);
  const int64_t top = probs.argmax(1).item<int64_t>();
  auto labels = split(read_file_text(weights + "imagenet_labels.txt"), '\n');
  ASSERT_GT(labels.size(), static_cast<size_t>(top + 1));
  EXPECT_NE(to_lower(labels[top + 1]).find("cat"), std::string::npos) << "top-1: " << labels[top + 1];
  EXPECT_GT(probs[0][top].item<double>(), 0.3);
}

}  // namespace
}  // namespace faceage::models
