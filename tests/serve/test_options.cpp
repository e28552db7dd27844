#include "faceage/serve/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace faceage::serve {
namespace {

TEST(ServeOptions, DefaultsAreLoopbackAndValid) {
  auto o = serve_options_from_config(Config());
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 8000);
  EXPECT_NO_THROW(validate(o));
}

TEST(ServeOptions, ShippedDefaultConfigMatchesTheBuiltInDefaults) {
  auto file = serve_options_from_config(Config::from_file(std::string(FACEAGE_SOURCE_DIR) + "/configs/serve/default.yaml"));
  ServeOptions built_in;
  EXPECT_EQ(file.host, built_in.host);
  EXPECT_EQ(file.port, built_in.port);
  EXPECT_EQ(file.threads, built_in.threads);
  EXPECT_EQ(file.face_workers, built_in.face_workers);
  EXPECT_EQ(file.model_threads, built_in.model_threads);
  EXPECT_EQ(file.max_batch_size, built_in.max_batch_size);
  EXPECT_EQ(file.max_wait_ms, built_in.max_wait_ms);
  EXPECT_EQ(file.max_body_mb, built_in.max_body_mb);
  EXPECT_EQ(file.max_pixels, built_in.max_pixels);
  EXPECT_EQ(file.access_log, built_in.access_log);
  EXPECT_EQ(file.precision, built_in.precision);
  EXPECT_EQ(file.minor_gate, built_in.minor_gate);
  EXPECT_EQ(file.coverage, built_in.coverage);
  EXPECT_EQ(file.unreliable_below, built_in.unreliable_below);
  EXPECT_EQ(file.refuse_unreliable, built_in.refuse_unreliable);
}

TEST(ServeOptions, AnswerOptionsAreReadAndChecked) {
  auto o = serve_options_from_config(
      Config::from_string("minor_gate: 13\ncoverage: 0.8\nunreliable_below: 0.5\nrefuse_unreliable: true\n"));
  EXPECT_EQ(o.minor_gate, 13);
  EXPECT_EQ(o.coverage, 0.8);
  EXPECT_EQ(o.unreliable_below, 0.5);
  EXPECT_TRUE(o.refuse_unreliable);
  try {
    serve_options_from_config(Config::from_string("coverage: 1.5\n"));
    FAIL() << "a coverage of 1.5 must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ServeOptions, OverridesAndSageMakerDefaults) {
  Config config;
  config.apply_overrides({"max_batch_size=4", "models=[a.fab, b.fab]", "sagemaker=true", "model_threads=2"});
  auto o = serve_options_from_config(config);
  EXPECT_EQ(o.max_batch_size, 4);
  EXPECT_EQ(o.model_threads, 2);
  EXPECT_EQ(o.model_paths, (std::vector<std::string>{"a.fab", "b.fab"}));
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 8080);
  config.set("port", "9000");
  EXPECT_EQ(serve_options_from_config(config).port, 9000);
}

TEST(ServeOptions, UnknownKeysAndBadValuesNameTheKey) {
  for (const auto& [assignment, key] : std::vector<std::pair<std::string, std::string>>{
           {"max_batchsize=4", "max_batchsize"}, {"max_batch_size=0", "max_batch_size"},
           {"port=70000", "port"}, {"max_body_mb=-1", "max_body_mb"}, {"threads=0", "threads"},
           {"model_threads=0", "model_threads"},
           {"precision=half", "precision"}}) {
    Config config;
    config.apply_overrides({assignment});
    try {
      serve_options_from_config(config);
      FAIL() << assignment << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

TEST(ServeOptions, AuthTokenFromConfigOrEnvironment) {
  ServeOptions o;
  o.auth_token_env = "FACEAGE_TEST_SERVE_TOKEN";
  ::unsetenv("FACEAGE_TEST_SERVE_TOKEN");
  EXPECT_EQ(resolve_auth_token(o), "");
  ::setenv("FACEAGE_TEST_SERVE_TOKEN", "from-env", 1);
  EXPECT_EQ(resolve_auth_token(o), "from-env");
  o.auth_token = "from-config";
  EXPECT_EQ(resolve_auth_token(o), "from-config");
  ::unsetenv("FACEAGE_TEST_SERVE_TOKEN");
}

}  // namespace
}  // namespace faceage::serve
