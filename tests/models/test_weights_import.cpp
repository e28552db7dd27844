#include "faceage/models/weights_import.hpp"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/models/tensor_io.hpp"
#include "support/error_code.hpp"
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

// A tfjs group as face-api.js ships it: quantised uint8 and uint16 entries, a raw float32 one, in
// two .bin shards; bytes written by hand so the test does not share the reader's arithmetic.
struct TfjsFixture {
  std::string manifest;
  std::vector<std::uint8_t> shard1, shard2;
};

TfjsFixture tfjs_fixture() {
  TfjsFixture f;
  f.manifest = R"([{"paths": ["w.bin1", "w.bin2"], "weights": [
      {"name": "block/conv/filters", "shape": [1, 2, 3, 2], "dtype": "float32",
       "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
      {"name": "block/scale/biases", "shape": [2], "dtype": "float32",
       "quantization": {"dtype": "uint16", "scale": 0.25, "min": 2.0}},
      {"name": "block/scale/weights", "shape": [2], "dtype": "float32"},
      {"name": "fc", "shape": [3, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 1.0, "min": 0.0}}
  ]}])";
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < 12; ++i) bytes.push_back(static_cast<std::uint8_t>(i));  // filters: -1 + i/2, HWIO order
  for (std::uint16_t q : {std::uint16_t{4}, std::uint16_t{258}}) {              // biases: 3.0, 66.5
    bytes.push_back(static_cast<std::uint8_t>(q & 0xff));
    bytes.push_back(static_cast<std::uint8_t>(q >> 8));
  }
  for (float v : {1.5f, -0.25f}) {  // raw float32, little-endian
    std::uint8_t raw[4];
    std::memcpy(raw, &v, 4);
    bytes.insert(bytes.end(), raw, raw + 4);
  }
  for (int i = 0; i < 6; ++i) bytes.push_back(static_cast<std::uint8_t>(10 * i));  // fc [in 3, out 2]
  f.shard1.assign(bytes.begin(), bytes.begin() + 7);  // a shard boundary inside a tensor
  f.shard2.assign(bytes.begin() + 7, bytes.end());
  return f;
}

void write_tfjs(const testing::TempDir& dir, const TfjsFixture& f) {
  write_file_atomic(dir.file("manifest.json"), f.manifest);
  write_file_atomic(dir.file("w.bin1"), f.shard1);
  write_file_atomic(dir.file("w.bin2"), f.shard2);
}

TEST(TfjsWeights, DecodesQuantisationAndConvertsNamesAndLayouts) {
  testing::TempDir dir;
  write_tfjs(dir, tfjs_fixture());
  auto tensors = read_tfjs_weights(dir.file("manifest.json"));
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[0].first, "block.conv.weight");
  EXPECT_EQ(tensors[1].first, "block.scale.bias");
  EXPECT_EQ(tensors[2].first, "block.scale.weight");
  EXPECT_EQ(tensors[3].first, "fc.weight");

  // HWIO [1,2,3,2] -> OIHW [2,3,1,2]: torch[o][i][h][w] = tfjs[h][w][i][o] = -1 + 0.5 * flat index.
  const auto& filters = tensors[0].second;
  ASSERT_EQ(filters.sizes(), (std::vector<int64_t>{2, 3, 1, 2}));
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 3; ++i)
      for (int w = 0; w < 2; ++w) {
        const int flat = ((0 * 2 + w) * 3 + i) * 2 + o;
        EXPECT_FLOAT_EQ(filters[o][i][0][w].item<float>(), -1.0f + 0.5f * flat) << o << i << w;
      }
  EXPECT_TRUE(torch::equal(tensors[1].second, torch::tensor({3.0f, 66.5f})));
  EXPECT_TRUE(torch::equal(tensors[2].second, torch::tensor({1.5f, -0.25f})));
  // [in 3, out 2] -> [out 2, in 3].
  EXPECT_TRUE(torch::equal(tensors[3].second, torch::tensor({{0.0f, 20.0f, 40.0f}, {10.0f, 30.0f, 50.0f}})));

  // The same manifest inside a model.json loads too.
  write_file_atomic(dir.file("model.json"), R"({"modelTopology": {}, "weightsManifest": )" + tfjs_fixture().manifest + "}");
  EXPECT_EQ(read_tfjs_weights(dir.file("model.json")).size(), 4u);
}

TEST(TfjsWeights, LoadPretrainedWeightsPicksTheFormatByName) {
  testing::TempDir dir;
  write_tfjs(dir, tfjs_fixture());
  struct BlockImpl : torch::nn::Module {
    BlockImpl() {
      conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 2, {1, 2}).bias(false)));
    }
    torch::nn::Conv2d conv{nullptr};
  };
  struct NetImpl : BackboneImpl {
    NetImpl() { block = register_module("block", std::make_shared<BlockImpl>()); }
    torch::Tensor forward_features(const torch::Tensor& x) override { return x; }
    int64_t num_features() const override { return 2; }
    torch::Tensor forward_classifier(const torch::Tensor& x) override { return x; }
    std::shared_ptr<BlockImpl> block;
  } net;
  auto report = load_pretrained_weights(net, dir.file("manifest.json"));
  EXPECT_EQ(report.loaded, (std::vector<std::string>{"block.conv.weight"}));
  EXPECT_EQ(report.unexpected.size(), 3u);
  EXPECT_FLOAT_EQ(net.block->conv->weight[1][2][0][1].item<float>(), -1.0f + 0.5f * 11);
  // Anything but .json is a torch checkpoint: the manifest's .bin is not one.
  EXPECT_EQ(testing::error_of([&] { load_pretrained_weights(net, dir.file("w.bin1")); }), ErrorCode::kModel);
}

TEST(TfjsWeights, BadManifestsAndShardsGiveTypedErrors) {
  testing::TempDir dir;
  const auto good = tfjs_fixture();
  const std::string manifest = dir.file("manifest.json");
  auto read = [&] { read_tfjs_weights(manifest); };
  EXPECT_EQ(testing::error_of(read), ErrorCode::kNotFound);  // no manifest

  write_tfjs(dir, good);
  std::filesystem::remove(dir.file("w.bin2"));
  EXPECT_EQ(testing::error_of(read), ErrorCode::kNotFound);  // a shard is missing

  // Short and long shards: kModel, the short one naming the tensor it ends in.
  auto shorter = good;
  shorter.shard2.resize(shorter.shard2.size() - 3);
  write_tfjs(dir, shorter);
  try {
    read();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("'fc'"), std::string::npos) << e.what();
  }
  auto longer = good;
  longer.shard2.push_back(0);
  write_tfjs(dir, longer);
  EXPECT_EQ(testing::error_of(read), ErrorCode::kModel);

  for (const std::string bad : {std::string("{not json"), std::string("{}"), std::string("[]"),
                                std::string(R"([{"paths": ["w.bin1"]}])"),
                                std::string(R"([{"paths": ["w.bin1"], "weights": [{"name": "a", "shape": [2]}]}])"),
                                std::string(R"([{"paths": ["w.bin1"], "weights": [{"name": "a", "shape": [2],
                                    "dtype": "float32", "quantization": {"dtype": "float16", "scale": 1, "min": 0}}]}])")}) {
    write_tfjs(dir, good);
    write_file_atomic(manifest, bad);
    EXPECT_EQ(testing::error_of(read), ErrorCode::kModel) << bad;
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
