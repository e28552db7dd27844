#pragma once
// Shared by the serve tests: small random-weight bundles the tests build, images, and a server
// on an ephemeral loopback port.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "faceage/core/context.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/serve/server.hpp"
#include "support/temp_dir.hpp"

namespace faceage::serve::testing {

// A mobilenet_v2 bundle with seeded random weights: meaningless but deterministic answers.
inline void make_test_bundle(const std::string& path, int seed) {
  torch::manual_seed(seed);
  models::Bundle bundle;
  models::ModelOptions options;
  options.arch = "mobilenet_v2";
  bundle.model_options = options;
  bundle.model = models::create_model(options);
  bundle.preprocess.input_size = 96;
  bundle.metadata = {{"name", "serve-test-" + std::to_string(seed)}};
  models::save_bundle(bundle, path);
}

// A photo with a face: the committed fixture, else Debian's python3-skimage copy ("" if neither).
inline std::string face_image_path() {
  for (const std::string& p : {std::string(FACEAGE_FIXTURES_DIR) + "/astronaut.png",
                               std::string("/usr/lib/python3/dist-packages/skimage/data/astronaut.png")}) {
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

inline std::string read_bytes(const std::string& path) {
  auto bytes = read_file_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

inline std::string encode(const cv::Mat& bgr, const std::string& ext) {
  std::vector<std::uint8_t> out;
  cv::imencode(ext, bgr, out);
  return std::string(out.begin(), out.end());
}

// A smooth gradient: no face, and not square enough for the whole-image fallback.
inline std::string no_face_png() {
  cv::Mat image(200, 320, CV_8UC3);
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 255 / 320, y * 255 / 200, 128);
  }
  return encode(image, ".png");
}

inline Context quiet_context() {
  ContextOptions options;
  options.threads = 2;
  options.log_level = "error";
  return Context::make(options);
}

inline ServeOptions test_options(const std::string& bundle) {
  ServeOptions o;
  o.model_paths = {bundle};
  o.port = 0;
  o.threads = 16;
  o.access_log = "";
  o.auth_token_env = "";
  return o;
}

inline httplib::Client client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  c.set_write_timeout(60, 0);
  return c;
}

}  // namespace faceage::serve::testing
