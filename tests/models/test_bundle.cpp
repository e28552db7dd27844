#include "faceage/models/bundle.hpp"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <fstream>

#include "faceage/core/fs.hpp"
#include "support/error_code.hpp"
#include "support/temp_dir.hpp"

namespace faceage::models {
namespace {

using faceage::testing::error_of;

Bundle small_bundle() {
  ModelOptions options;
  options.arch = "mobilenet_v2";
  options.age_head = AgeHeadKind::kRegression;
  options.min_age = 1;
  options.max_age = 90;
  Bundle bundle;
  bundle.model = create_model(options);
  bundle.preprocess.input_size = 128;
  bundle.preprocess.mean = {0.5f, 0.5f, 0.5f};
  bundle.preprocess.std = {0.5f, 0.5f, 0.5f};
  bundle.face_pipeline = {{"detector", "yunet"}, {"margin", 0.25}};
  bundle.labels.interval_scale = 1.3;
  bundle.metadata = {{"name", "test"}, {"metrics", {{"mae", 5.5}}}};
  return bundle;
}

ErrorCode load_error(const std::string& path) {
  return error_of([&] { load_bundle(path); });
}

// Copies a bundle's records into a new zip, editing bundle.json / tensors.json on the way.
void rewrite_bundle(const std::string& from, const std::string& to,
                    const std::function<void(nlohmann::json& info, nlohmann::json& index)>& edit) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  auto read = [&](const std::string& name) {
    auto [data, size] = reader.getRecord(name);
    return std::string(static_cast<const char*>(data.get()), size);
  };
  auto info = nlohmann::json::parse(read("bundle.json"));
  auto index = nlohmann::json::parse(read("tensors.json"));
  edit(info, index);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  const auto info_text = info.dump();
  const auto index_text = index.dump();
  writer.writeRecord("bundle.json", info_text.data(), info_text.size());
  writer.writeRecord("tensors.json", index_text.data(), index_text.size());
  for (const auto& name : reader.getAllRecords()) {
    if (name.rfind("tensors/", 0) != 0) continue;
    const auto bytes = read(name);
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
}

TEST(Bundle, RoundTripsEverySection) {
  testing::TempDir dir;
  auto bundle = small_bundle();
  const auto path = dir.file("sub/model.faceage");
  save_bundle(bundle, path);
  // Atomic write: only the final file remains.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path() / "sub"), {}), 1);

  auto loaded = load_bundle(path);
  EXPECT_EQ(loaded.model_options.arch, "mobilenet_v2");
  EXPECT_EQ(loaded.model_options.age_head, AgeHeadKind::kRegression);
  EXPECT_EQ(loaded.model_options.max_age, 90);
  EXPECT_EQ(loaded.preprocess.input_size, 128);
  EXPECT_FLOAT_EQ(loaded.preprocess.std[1], 0.5f);
  EXPECT_EQ(loaded.face_pipeline.at("detector"), "yunet");
  EXPECT_DOUBLE_EQ(loaded.labels.interval_scale, 1.3);
  EXPECT_EQ(loaded.labels.genders, (std::vector<std::string>{"male", "female"}));
  EXPECT_DOUBLE_EQ(loaded.metadata.at("metrics").at("mae").get<double>(), 5.5);
  // Buffers travel too (BatchNorm running statistics).
  torch::NoGradGuard no_grad;
  auto original = bundle.model->named_buffers()["backbone.features.1.conv.0.1.running_var"];
  auto restored = loaded.model->named_buffers()["backbone.features.1.conv.0.1.running_var"];
  EXPECT_TRUE(torch::equal(original, restored));

  auto info = read_bundle_info(path);
  EXPECT_EQ(info.at("format_version"), 1);
  EXPECT_EQ(info.at("model_options").at("arch"), "mobilenet_v2");
  EXPECT_FALSE(info.contains("tensors"));
}

TEST(Bundle, MissingAndCorruptFilesGiveClearErrors) {
  testing::TempDir dir;
  EXPECT_EQ(load_error(dir.file("absent.faceage")), ErrorCode::kNotFound);
  write_file_atomic(dir.file("garbage.faceage"), std::string("not a zip at all"));
  EXPECT_EQ(load_error(dir.file("garbage.faceage")), ErrorCode::kModel);

  save_bundle(small_bundle(), dir.file("good.faceage"));
  auto bytes = read_file_bytes(dir.file("good.faceage"));
  bytes.resize(bytes.size() / 2);
  write_file_atomic(dir.file("truncated.faceage"), bytes);
  EXPECT_EQ(load_error(dir.file("truncated.faceage")), ErrorCode::kModel);
}

TEST(Bundle, NewerFormatVersionIsRefusedWithAHint) {
  testing::TempDir dir;
  save_bundle(small_bundle(), dir.file("good.faceage"));
  rewrite_bundle(dir.file("good.faceage"), dir.file("future.faceage"),
                 [](nlohmann::json& info, nlohmann::json&) { info["format_version"] = 99; });
  try {
    read_bundle_info(dir.file("future.faceage"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos);
    EXPECT_NE(e.hint().find("upgrade"), std::string::npos);
  }
}

TEST(Bundle, MissingOrExtraTensorsAreNamed) {
  testing::TempDir dir;
  save_bundle(small_bundle(), dir.file("good.faceage"));
  rewrite_bundle(dir.file("good.faceage"), dir.file("missing.faceage"), [](nlohmann::json&, nlohmann::json& index) {
    for (auto& entry : index) {
      if (entry["name"] == "age_head.bias") entry["name"] = "age_head.offset";
    }
  });
  try {
    load_bundle(dir.file("missing.faceage"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("missing: age_head.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unexpected: age_head.offset"), std::string::npos) << e.what();
  }
  rewrite_bundle(dir.file("good.faceage"), dir.file("arch.faceage"),
                 [](nlohmann::json& info, nlohmann::json&) { info["model_options"]["arch"] = "resnet18"; });
  EXPECT_EQ(load_error(dir.file("arch.faceage")), ErrorCode::kModel);
  rewrite_bundle(dir.file("good.faceage"), dir.file("badtype.faceage"),
                 [](nlohmann::json& info, nlohmann::json&) { info["model_options"]["max_age"] = "old"; });
  EXPECT_EQ(load_error(dir.file("badtype.faceage")), ErrorCode::kModel);
}

TEST(Bundle, HalfPrecisionHalvesTheFileAndStaysClose) {
  testing::TempDir dir;
  auto bundle = small_bundle();
  bundle.model->eval();
  save_bundle(bundle, dir.file("f32.faceage"));
  save_bundle(bundle, dir.file("f16.faceage"), SaveOptions{true});
  const auto full = std::filesystem::file_size(dir.file("f32.faceage"));
  const auto half = std::filesystem::file_size(dir.file("f16.faceage"));
  EXPECT_LT(half, full * 0.52);
  EXPECT_EQ(read_bundle_info(dir.file("f16.faceage")).at("weights_dtype"), "float16");
  auto loaded = load_bundle(dir.file("f16.faceage"));
  EXPECT_EQ(loaded.model->named_parameters()["age_head.weight"].scalar_type(), torch::kFloat);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 128, 128});
  const double diff = (loaded.model->forward(x).age - bundle.model->forward(x).age).abs().max().item<double>();
  EXPECT_LT(diff, 0.05);
}

TEST(Bundle, SaveRefusesAnEmptyBundleAndUnwritablePaths) {
  EXPECT_THROW(save_bundle(Bundle{}, "/tmp/x.faceage"), Error);
  try {
    save_bundle(small_bundle(), "/proc/faceage-cannot-write/model.faceage");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

TEST(Ensemble, PacksMembersByteForByteAndLoadsThemBack) {
  testing::TempDir dir;
  auto first = small_bundle();
  auto second = small_bundle();  // another random initialisation
  second.metadata["name"] = "second";
  save_bundle(first, dir.file("a.fab"));
  save_bundle(second, dir.file("b.fab"));
  EnsembleOptions options;
  options.test_time_flip = false;
  options.metadata = {{"name", "pair"}};
  save_ensemble({dir.file("a.fab"), dir.file("b.fab")}, dir.file("pair.fab"), options);

  auto info = read_bundle_info(dir.file("pair.fab"));
  EXPECT_EQ(info.at("format"), "faceage-ensemble");
  EXPECT_EQ(info.at("test_time_flip"), false);
  EXPECT_EQ(info.at("metadata").at("name"), "pair");
  ASSERT_EQ(info.at("members").size(), 2u);
  EXPECT_EQ(info.at("members")[1].at("info").at("metadata").at("name"), "second");
  EXPECT_EQ(info.at("members")[0].at("sha256"), sha256_file(dir.file("a.fab")));

  auto file = load_model_file(dir.file("pair.fab"));
  ASSERT_EQ(file.members.size(), 2u);
  ASSERT_TRUE(file.test_time_flip.has_value());
  EXPECT_FALSE(*file.test_time_flip);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 128, 128});
  EXPECT_TRUE(torch::equal(file.members[0].model->forward(x).age, load_bundle(dir.file("a.fab")).model->forward(x).age));
  EXPECT_TRUE(torch::equal(file.members[1].model->forward(x).age, load_bundle(dir.file("b.fab")).model->forward(x).age));
  EXPECT_EQ(file.members[1].metadata.at("name"), "second");

  auto single = load_model_file(dir.file("a.fab"));
  EXPECT_EQ(single.members.size(), 1u);
  EXPECT_FALSE(single.test_time_flip.has_value());
  // One bundle is what load_bundle returns; an ensemble is not one bundle.
  EXPECT_EQ(error_of([&] { load_bundle(dir.file("pair.fab")); }), ErrorCode::kInvalidArgument);

  // Unpacking gives the members back byte for byte.
  const auto unpacked = unpack_ensemble(dir.file("pair.fab"), dir.file("out"));
  ASSERT_EQ(unpacked.size(), 2u);
  EXPECT_EQ(unpacked[1], dir.file("out/pair-member-1.fab"));
  EXPECT_EQ(sha256_file(unpacked[0]), sha256_file(dir.file("a.fab")));
  EXPECT_EQ(sha256_file(unpacked[1]), sha256_file(dir.file("b.fab")));
  EXPECT_EQ(error_of([&] { unpack_ensemble(dir.file("a.fab"), dir.file("out")); }), ErrorCode::kInvalidArgument);
}

TEST(Ensemble, RefusesBadMembersAndDamagedFiles) {
  testing::TempDir dir;
  save_bundle(small_bundle(), dir.file("a.fab"));
  save_bundle(small_bundle(), dir.file("b.fab"));
  const auto a = dir.file("a.fab"), b = dir.file("b.fab");
  EXPECT_EQ(error_of([&] { save_ensemble({a}, dir.file("one.fab")); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { save_ensemble({a, dir.file("absent.fab")}, dir.file("x.fab")); }), ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.fab")));
  save_ensemble({a, b}, dir.file("pair.fab"));
  EXPECT_EQ(error_of([&] { save_ensemble({dir.file("pair.fab"), a}, dir.file("nested.fab")); }),
            ErrorCode::kInvalidArgument);

  // A member whose bytes were damaged inside the ensemble file: kModel naming the member.
  {
    caffe2::serialize::PyTorchStreamReader reader(dir.file("pair.fab"));
    auto record = [&](const std::string& name) {
      auto [data, size] = reader.getRecord(name);
      return std::string(static_cast<const char*>(data.get()), size);
    };
    caffe2::serialize::PyTorchStreamWriter writer(dir.file("damaged.fab"));
    for (const auto& name : {std::string("bundle.json"), std::string("members/0")}) {
      const auto bytes = record(name);
      writer.writeRecord(name, bytes.data(), bytes.size());
    }
    const auto member = record("members/1").substr(0, 4000);
    writer.writeRecord("members/1", member.data(), member.size());
    writer.writeEndOfFile();
  }
  try {
    load_model_file(dir.file("damaged.fab"));
    FAIL() << "a damaged member must not load";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
    EXPECT_NE(std::string(e.what()).find("member 1"), std::string::npos) << e.what();
  }
}

TEST(LabelSpec, JsonRoundTrip) {
  LabelSpec spec;
  spec.genders = {"m", "f"};
  spec.interval_halfwidth = 7.5;
  auto back = label_spec_from_json(to_json(spec));
  EXPECT_EQ(back.genders, spec.genders);
  EXPECT_DOUBLE_EQ(back.interval_halfwidth, 7.5);
  EXPECT_THROW(label_spec_from_json(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace faceage::models
