#include "faceage/models/tensor_io.hpp"

#include <gtest/gtest.h>

#include "faceage/core/error.hpp"
#include "support/error_code.hpp"

namespace faceage::models {
namespace {

using faceage::testing::error_of;

TEST(ImagesToTensor, NormalisesPerChannelInNchwOrder) {
  cv::Mat rgb(2, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = {0, 128, 255};
  rgb.at<cv::Vec3b>(0, 1) = {255, 0, 0};
  rgb.at<cv::Vec3b>(1, 0) = {10, 20, 30};
  rgb.at<cv::Vec3b>(1, 1) = {51, 102, 204};
  PreprocessSpec spec;
  spec.input_size = 2;  // no resize: exact values
  spec.mean = {0.5f, 0.25f, 0.0f};
  spec.std = {0.5f, 0.25f, 2.0f};
  auto t = images_to_tensor({rgb, rgb}, spec);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(t.scalar_type(), torch::kFloat);
  // (v/255 - mean)/std, computed by hand.
  EXPECT_FLOAT_EQ(t[0][0][0][0].item<float>(), -1.0f);                            // R=0
  EXPECT_FLOAT_EQ(t[0][0][0][1].item<float>(), 1.0f);                             // R=255
  EXPECT_NEAR(t[0][1][0][0].item<float>(), (128.0 / 255 - 0.25) / 0.25, 1e-6);    // G=128
  EXPECT_NEAR(t[0][2][0][0].item<float>(), 0.5, 1e-6);                            // B=255
  EXPECT_NEAR(t[1][2][1][1].item<float>(), 204.0 / 255 / 2.0, 1e-6);              // second image, B=204
  EXPECT_NEAR(t[1][1][1][0].item<float>(), (20.0 / 255 - 0.25) / 0.25, 1e-6);
}

TEST(ImagesToTensor, ResizesAnySizeToInputSize) {
  PreprocessSpec spec;
  spec.input_size = 112;
  spec.mean = {0.5f, 0.5f, 0.5f};
  spec.std = {0.5f, 0.5f, 0.5f};
  cv::Mat big(200, 180, CV_8UC3, cv::Scalar(255, 0, 51));
  cv::Mat small(50, 50, CV_8UC3, cv::Scalar(255, 0, 51));
  auto t = images_to_tensor({big, small}, spec);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3, 112, 112}));
  // A constant image stays constant through resizing.
  EXPECT_NEAR(t.select(1, 0).min().item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(t.select(1, 1).max().item<float>(), -1.0f, 1e-6);
  EXPECT_NEAR(t.select(1, 2).mean().item<float>(), 51.0 / 127.5 - 1.0, 1e-6);
}

TEST(ImagesToTensor, RejectsBadInputWithInvalidArgument) {
  PreprocessSpec spec;
  EXPECT_EQ(error_of([&] { images_to_tensor({}, spec); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { images_to_tensor({cv::Mat()}, spec); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { images_to_tensor({cv::Mat(10, 10, CV_8UC1)}, spec); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([&] { images_to_tensor({cv::Mat(10, 10, CV_32FC3)}, spec); }), ErrorCode::kInvalidArgument);
}

TEST(ParseDevice, AcceptsCpuAndExplainsCuda) {
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_EQ(error_of([] { parse_device("tpu"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { parse_device("cuda:x"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of([] { parse_device("cuda:-1"); }), ErrorCode::kInvalidArgument);
  if (!torch::cuda::is_available()) {
    try {
      parse_device("cuda");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("CUDA not available"), std::string::npos);
    }
  } else {
    EXPECT_TRUE(parse_device("cuda").is_cuda());
    EXPECT_EQ(error_of([] { parse_device("cuda:999"); }), ErrorCode::kInvalidArgument);
  }
}

TEST(ConfigureRuntime, SetsThreadsAndSeed) {
  Context ctx;
  ctx.threads = 2;
  ctx.seed = 11;
  configure_runtime(ctx);
  EXPECT_EQ(torch::get_num_threads(), 2);
  auto a = torch::randn({4});
  configure_runtime(ctx);  // idempotent; reseeds
  auto b = torch::randn({4});
  EXPECT_TRUE(torch::equal(a, b));
  ctx.threads = 1;
  configure_runtime(ctx);
  EXPECT_EQ(torch::get_num_threads(), 1);
}

}  // namespace
}  // namespace faceage::models
