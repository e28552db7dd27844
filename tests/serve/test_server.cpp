#include "faceage/serve/server.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "faceage/infer/predictor.hpp"
#include "faceage/models/bundle.hpp"
#include "faceage/monitor/model_registry.hpp"
#include "faceage/monitor/prediction_log.hpp"
#include "faceage/serve/http_util.hpp"
#include "faceage/serve/served_model.hpp"
#include "serve_test_support.hpp"

namespace faceage::serve {
namespace {

using namespace faceage::serve::testing;
using nlohmann::json;

class ServeServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<faceage::testing::TempDir>();
    bundle_a_ = dir_->file("a.fab");
    bundle_b_ = dir_->file("b.fab");
    make_test_bundle(bundle_a_, 1);
    make_test_bundle(bundle_b_, 2);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    face_path_ = face_image_path();
    if (face_path_.empty()) GTEST_SKIP() << "no face photo (tests/fixtures/astronaut.png or python3-skimage)";
    face_ = read_bytes(face_path_);
  }

  std::unique_ptr<Server> start(ServeOptions options, bool load = true) {
    auto server = std::make_unique<Server>(options, quiet_context());
    server->start();
    if (load) server->load_models();
    return server;
  }

  // What `faceage predict` says about the same bytes.
  static infer::ImagePrediction reference(const std::string& bundle, const std::string& bytes, const std::string& source) {
    infer::PredictorOptions options;
    options.model_paths = {bundle};
    options.flip_average = serve::ServeOptions{}.flip_average;  // what the server does by default
    infer::Predictor predictor(options, quiet_context());
    return predictor.predict_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), source);
  }

  static std::unique_ptr<faceage::testing::TempDir> dir_;
  static std::string bundle_a_, bundle_b_;
  std::string face_path_, face_;
};
std::unique_ptr<faceage::testing::TempDir> ServeServer::dir_;
std::string ServeServer::bundle_a_, ServeServer::bundle_b_;

httplib::MultipartFormDataItems form(const std::vector<std::pair<std::string, std::string>>& files) {
  httplib::MultipartFormDataItems items;
  for (const auto& [name, bytes] : files) items.push_back({"image", bytes, name, "application/octet-stream"});
  return items;
}

// Face records without the "file" field (it names the upload, which differs between routes).
json without_file(json records) {
  for (auto& record : records) record.erase("file");
  return records;
}

std::string error_code(const httplib::Result& r) { return json::parse(r->body)["error"]["code"]; }

TEST_F(ServeServer, EveryReadRouteAnswers) {
  auto server = start(test_options(bundle_a_));
  auto c = client(server->port());
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<canvas"), std::string::npos);
  EXPECT_EQ(page->body, index_html());
  for (const char* path : {"/ping", "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/faceage/ready", "/v1/models"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    EXPECT_TRUE(json::accept(r->body)) << path;
    EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  }
  auto meta = json::parse(c.Get("/v2/models/faceage")->body);
  EXPECT_EQ(meta["name"], "faceage");
  EXPECT_EQ(meta["inputs"][0]["name"], "image");
  EXPECT_EQ(meta["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(meta["inputs"][0]["shape"], json::array({-1}));
  EXPECT_EQ(meta["versions"][0], server->model()->version());
  EXPECT_EQ(c.Get(("/v2/models/faceage/versions/" + server->model()->version()).c_str())->status, 200);
  EXPECT_EQ(c.Get("/v2/models/faceage/versions/nope")->status, 404);
  EXPECT_EQ(c.Get("/v2/models/other")->status, 404);
  EXPECT_EQ(c.Get("/v2/models/other/ready")->status, 404);
  auto models = json::parse(c.Get("/v1/models")->body);
  EXPECT_EQ(models["models"][0]["paths"][0], bundle_a_);
  EXPECT_EQ(models["models"][0]["arch"], "mobilenet_v2");
  // Every served bundle states its terms (a test bundle records none: the note says so).
  EXPECT_NE(models["models"][0]["bundles"][0]["licence"].get<std::string>().find("not recorded"), std::string::npos);
  auto missing = c.Get("/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_code(missing), "not_found");
  auto metrics = c.Get("/metrics");
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  for (const char* name : {"faceage_http_requests_total{", "faceage_http_request_duration_seconds_bucket{",
                           "faceage_model_info{", "faceage_http_requests_in_flight"}) {
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name;
  }
}

TEST_F(ServeServer, EveryImageRouteMatchesThePredictor) {
  auto server = start(test_options(bundle_a_));
  auto c = client(server->port());
  const auto expected = reference(bundle_a_, face_, "astronaut.png");
  ASSERT_TRUE(expected.ok()) << expected.error->message;
  ASSERT_FALSE(expected.faces.empty());
  auto expected_faces = infer::to_json(expected);

  auto upload = c.Post("/v1/predict", form({{"astronaut.png", face_}}));
  ASSERT_TRUE(upload);
  ASSERT_EQ(upload->status, 200) << upload->body;
  auto body = json::parse(upload->body);
  EXPECT_EQ(body["predictions"][0]["faces"], expected_faces);
  EXPECT_EQ(body["predictions"][0]["width"], expected.width);
  EXPECT_EQ(body["model_version"], server->model()->version());

  auto raw = c.Post("/v1/predict", face_, "image/png");
  ASSERT_EQ(raw->status, 200) << raw->body;
  auto raw_faces = json::parse(raw->body)["predictions"][0]["faces"];
  ASSERT_EQ(raw_faces.size(), expected_faces.size());
  EXPECT_EQ(raw_faces[0]["age"], expected_faces[0]["age"]);

  for (const char* type : {"image/png", "application/x-image"}) {
    auto r = c.Post("/invocations", face_, type);
    ASSERT_EQ(r->status, 200) << type << ": " << r->body;
    EXPECT_EQ(json::parse(r->body)["predictions"][0]["faces"][0]["age"], expected_faces[0]["age"]);
  }
  const std::string b64 = base64_encode(face_);
  auto single = c.Post("/invocations", json{{"image", b64}}.dump(), "application/json");
  ASSERT_EQ(single->status, 200) << single->body;
  auto instances = c.Post("/invocations", json{{"instances", {{{"image", b64}}, {{"image", b64}}}}}.dump(), "application/json");
  ASSERT_EQ(instances->status, 200) << instances->body;
  auto predictions = json::parse(instances->body)["predictions"];
  ASSERT_EQ(predictions.size(), 2u);
  EXPECT_EQ(predictions[1]["faces"][0]["age"], expected_faces[0]["age"]);

  json v2 = {{"id", "req-7"},
             {"inputs", {{{"name", "image"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {b64}}}}}};
  auto infer = c.Post("/v2/models/faceage/infer", v2.dump(), "application/json");
  ASSERT_EQ(infer->status, 200) << infer->body;
  auto answer = json::parse(infer->body);
  EXPECT_EQ(answer["id"], "req-7");
  EXPECT_EQ(answer["model_name"], "faceage");
  std::map<std::string, json> outputs;
  for (const auto& o : answer["outputs"]) outputs[o["name"]] = o;
  ASSERT_TRUE(outputs.count("age") && outputs.count("female_prob") && outputs.count("predictions") && outputs.count("box"));
  EXPECT_EQ(outputs["age"]["datatype"], "FP32");
  ASSERT_EQ(outputs["age"]["shape"], json::array({static_cast<int>(expected.faces.size())}));
  EXPECT_EQ(outputs["box"]["shape"], json::array({static_cast<int>(expected.faces.size()), 4}));
  for (std::size_t i = 0; i < expected.faces.size(); ++i) {
    EXPECT_NEAR(outputs["age"]["data"][i].get<double>(), expected.faces[i].age, 1e-5 * std::max(1.0, expected.faces[i].age));
    EXPECT_NEAR(outputs["female_prob"]["data"][i].get<double>(), *expected.faces[i].female_prob, 1e-5);
  }
  EXPECT_EQ(without_file(json::parse(outputs["predictions"]["data"][0].get<std::string>())["faces"]),
            without_file(expected_faces));
  // Requested outputs only.
  v2["outputs"] = {{{"name", "age"}}};
  auto only_age = json::parse(c.Post("/v2/models/faceage/infer", v2.dump(), "application/json")->body);
  ASSERT_EQ(only_age["outputs"].size(), 1u);
  EXPECT_EQ(only_age["outputs"][0]["name"], "age");
}

TEST_F(ServeServer, ErrorsHaveTheRightStatusAndAJsonBody) {
  auto options = test_options(bundle_a_);
  options.max_body_mb = 1.0;
  options.max_images_per_request = 2;
  auto server = start(options);
  auto c = client(server->port());
  auto expect = [&](const httplib::Result& r, int status, const std::string& code, const std::string& what) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    ASSERT_TRUE(json::accept(r->body)) << what << ": " << r->body;
    auto body = json::parse(r->body);
    EXPECT_EQ(body["error"]["code"], code) << what;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty()) << what;
  };
  expect(c.Post("/v1/predict", std::string(5000, '\x17'), "image/jpeg"), 400, "unreadable_image", "garbage bytes");
  expect(c.Post("/invocations", "{not json", "application/json"), 400, "invalid_argument", "broken JSON");
  expect(c.Post("/invocations", json{{"image", "***"}}.dump(), "application/json"), 400, "invalid_argument", "bad base64");
  expect(c.Post("/v1/predict", "", "image/jpeg"), 400, "invalid_argument", "empty body");
  expect(c.Post("/v1/predict", form({})), 400, "invalid_argument", "form without image");
  expect(c.Post("/v1/predict?annotate=maybe", face_, "image/png"), 400, "invalid_argument", "bad annotate");
  expect(c.Post("/v1/predict", std::string(2 * 1024 * 1024, 'x'), "image/jpeg"), 413, "too_large", "body over limit");
  const auto huge = std::string(FACEAGE_FIXTURES_DIR) + "/bad/huge_dims.png";
  if (std::filesystem::exists(huge)) {
    expect(c.Post("/v1/predict", read_bytes(huge), "image/png"), 413, "too_large", "huge dimensions");
  }
  expect(c.Post("/v1/predict", form({{"1", face_}, {"2", face_}, {"3", face_}})), 413, "too_large", "too many images");
  expect(c.Post("/v1/predict", "hello", "text/plain"), 415, "unsupported_media_type", "text/plain");
  expect(c.Post("/invocations", "a,b\n1,2\n", "text/csv"), 415, "unsupported_media_type", "text/csv on /invocations");
  expect(c.Post("/v1/predict", no_face_png(), "image/png"), 422, "no_face", "gradient");
  // v2 errors follow the protocol: {"error": "message"}.
  auto v2 = c.Post("/v2/models/faceage/infer", json{{"inputs", 3}}.dump(), "application/json");
  EXPECT_EQ(v2->status, 400);
  EXPECT_TRUE(json::parse(v2->body)["error"].is_string());
  EXPECT_EQ(c.Post("/v2/models/other/infer", "{}", "application/json")->status, 404);
  // Errors without an image (unknown model, failed reload) come from the one error table too.
  expect(c.Get("/v2/models/other"), 404, "not_found", "unknown model");
  auto reload = c.Post("/admin/reload", json{{"models", "/nonexistent/model.fab"}}.dump(), "application/json");
  // A path that does not exist is the caller's mistake (404), not a server fault; the old model keeps serving.
  EXPECT_EQ(reload->status, 404);
  EXPECT_EQ(json::parse(reload->body)["error"]["code"], "not_found") << reload->body;
  EXPECT_EQ(c.Get("/ping")->status, 200);

  // One bad image of two: 200 with a per-image error.
  auto mixed = c.Post("/v1/predict", form({{"face.png", face_}, {"gradient.png", no_face_png()}}));
  ASSERT_EQ(mixed->status, 200) << mixed->body;
  auto predictions = json::parse(mixed->body)["predictions"];
  EXPECT_FALSE(predictions[0]["faces"].empty());
  EXPECT_EQ(predictions[1]["error"]["code"], "no_face");
  // The server is still fine, and no client mistake was a 500.
  EXPECT_EQ(c.Get("/ping")->status, 200);
  EXPECT_EQ(server->metrics().render().find("status=\"500\""), std::string::npos);
}

TEST_F(ServeServer, NotReadyUntilTheModelIsLoaded) {
  auto server = start(test_options(bundle_a_), /*load=*/false);
  auto c = client(server->port());
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/ping")->status, 503);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 503);
  EXPECT_EQ(c.Get("/v2/models/faceage/ready")->status, 503);
  auto predict = c.Post("/v1/predict", face_, "image/png");
  EXPECT_EQ(predict->status, 503);
  EXPECT_EQ(error_code(predict), "not_ready");
  EXPECT_EQ(c.Post("/v2/models/faceage/infer", "{}", "application/json")->status, 503);
  server->load_models();
  EXPECT_EQ(c.Get("/ping")->status, 200);
  EXPECT_EQ(c.Post("/v1/predict", face_, "image/png")->status, 200);
}

TEST_F(ServeServer, BearerTokenGuardsAllButHealthRoutes) {
  auto options = test_options(bundle_a_);
  options.auth_token = "s3cret";
  auto server = start(options);
  auto c = client(server->port());
  auto denied = c.Post("/v1/predict", face_, "image/png");
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(error_code(denied), "unauthorized");
  EXPECT_NE(denied->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Post("/admin/reload", "", "application/json")->status, 401);
  for (const char* path : {"/ping", "/v2/health/live", "/v2/health/ready", "/v2/models/faceage/ready", "/"}) {
    EXPECT_EQ(c.Get(path)->status, 200) << path;
  }
  c.set_bearer_token_auth("wrong");
  EXPECT_EQ(c.Post("/v1/predict", face_, "image/png")->status, 401);
  c.set_bearer_token_auth("s3cret");
  EXPECT_EQ(c.Post("/v1/predict", face_, "image/png")->status, 200);
  EXPECT_EQ(c.Get("/metrics")->status, 200);
}

TEST_F(ServeServer, AnnotatedImages) {
  auto server = start(test_options(bundle_a_));
  auto c = client(server->port());
  auto jpeg = c.Post("/v1/predict?annotate=jpeg", face_, "image/png");
  ASSERT_EQ(jpeg->status, 200);
  EXPECT_EQ(jpeg->get_header_value("Content-Type"), "image/jpeg");
  auto original = cv::imdecode(cv::Mat(1, static_cast<int>(face_.size()), CV_8U, face_.data()), cv::IMREAD_COLOR);
  auto annotated = cv::imdecode(cv::Mat(1, static_cast<int>(jpeg->body.size()), CV_8U, jpeg->body.data()), cv::IMREAD_COLOR);
  ASSERT_FALSE(annotated.empty());
  EXPECT_EQ(annotated.size(), original.size());
  auto inline_jpeg = json::parse(c.Post("/v1/predict?annotate=1", face_, "image/png")->body);
  auto decoded = base64_decode(inline_jpeg["predictions"][0]["annotated_jpeg"].get<std::string>());
  EXPECT_EQ(decoded.substr(0, 3), std::string("\xff\xd8\xff"));
}

TEST_F(ServeServer, AccessLogRecordsEveryRequest) {
  auto options = test_options(bundle_a_);
  options.access_log = dir_->file("access.jsonl");
  std::string request_id;
  {
    auto server = start(options);
    auto c = client(server->port());
    auto r = c.Post("/v1/predict", face_, "image/png");
    request_id = r->get_header_value("X-Request-Id");
    c.Get("/nope");
    httplib::Headers headers{{"X-Request-Id", "client-id-1"}};
    EXPECT_EQ(c.Get("/ping", headers)->get_header_value("X-Request-Id"), "client-id-1");
  }
  std::ifstream in(options.access_log);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["path"], "/v1/predict");
  EXPECT_EQ(lines[0]["status"], 200);
  EXPECT_EQ(lines[0]["request_id"], request_id);
  EXPECT_GE(lines[0]["faces"].get<int>(), 1);
  EXPECT_EQ(lines[0]["bytes_in"], face_.size());
  EXPECT_GT(lines[0]["latency_ms"].get<double>(), 0);
  EXPECT_EQ(lines[1]["status"], 404);
  EXPECT_EQ(lines[2]["request_id"], "client-id-1");
}

// Fraction of model calls that held more than one face, from the batch-size histogram.
double batches_over_one(const std::string& metrics) {
  auto value = [&](const std::string& prefix) {
    auto at = metrics.find(prefix);
    if (at == std::string::npos) return -1.0;
    return std::stod(metrics.substr(at + prefix.size()));
  };
  const double le1 = value("faceage_inference_batch_size_bucket{le=\"1\"} ");
  const double all = value("faceage_inference_batch_size_count ");
  return all > 0 ? (all - le1) / all : 0.0;
}

TEST_F(ServeServer, ConcurrentRequestsAreBatchedAndAnswersMatchSingleImages) {
  auto options = test_options(bundle_a_);
  options.max_batch_size = 8;
  options.max_wait_ms = 100;
  auto server = start(options);
  // Several different images: a face photo and its mirror / crops, so answers must not be swapped.
  auto photo = cv::imread(face_path_, cv::IMREAD_COLOR);
  cv::Mat flipped, crop = photo(cv::Rect(64, 0, 384, 384)).clone();
  cv::flip(photo, flipped, 1);
  const std::vector<std::string> images = {face_, encode(flipped, ".png"), encode(crop, ".png")};
  std::vector<infer::ImagePrediction> expected;
  for (const auto& bytes : images) expected.push_back(reference(bundle_a_, bytes, "x"));
  for (const auto& e : expected) ASSERT_TRUE(e.ok() && !e.faces.empty());

  // In process (double precision): concurrent calls through the batcher vs single-image Predictor.
  auto model = server->model();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2; ++round) {
        const auto& bytes = images[(t + round) % images.size()];
        const auto& want = expected[(t + round) % images.size()];
        auto got = model->predict_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "x");
        if (!got.ok() || got.faces.size() != want.faces.size()) {
          ++mismatches;
          continue;
        }
        for (std::size_t f = 0; f < want.faces.size(); ++f) {
          if (std::abs(got.faces[f].age - want.faces[f].age) > 1e-5 ||
              std::abs(got.faces[f].age_low - want.faces[f].age_low) > 1e-5 ||
              std::abs(*got.faces[f].female_prob - *want.faces[f].female_prob) > 1e-5 ||
              got.faces[f].box != want.faces[f].box) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, 0);

  // Over HTTP: every answer is right and some model calls merged requests.
  threads.clear();
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto c = client(server->port());
      for (int round = 0; round < 2; ++round) {
        const std::size_t i = (t + round) % images.size();
        auto r = c.Post("/v1/predict", images[i], "image/png");
        if (!r || r->status != 200 ||
            without_file(json::parse(r->body)["predictions"][0]["faces"]) != without_file(infer::to_json(expected[i]))) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  const auto metrics = server->metrics().render();
  EXPECT_GT(batches_over_one(metrics), 0.0) << metrics;
}

TEST_F(ServeServer, HotReloadUnderLoadLosesNoRequest) {
  auto server = start(test_options(bundle_a_));
  server->handle_signals();
  const auto version_a = server->model()->version();
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&] {
      auto c = client(server->port());
      while (!done) {
        auto r = c.Post("/v1/predict", face_, "image/png");
        (r && r->status == 200) ? ++ok : ++failed;
      }
    });
  }
  auto admin = client(server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto swapped = admin.Post("/admin/reload", json{{"models", {bundle_b_}}}.dump(), "application/json");
  ASSERT_EQ(swapped->status, 200) << swapped->body;
  const auto version_b = json::parse(swapped->body)["version"].get<std::string>();
  EXPECT_NE(version_b, version_a);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // A failed load keeps the old model and says why: a file that is not a bundle is a model error (500).
  write_file_atomic(dir_->file("broken.fab"), std::string("not a model"));
  auto broken = admin.Post("/admin/reload", json{{"models", {dir_->file("broken.fab")}}}.dump(), "application/json");
  EXPECT_EQ(broken->status, 500);
  auto broken_body = json::parse(broken->body);
  EXPECT_FALSE(broken_body["ok"]);
  EXPECT_EQ(broken_body["error"]["code"], "model");
  EXPECT_EQ(broken_body["version"], version_b);
  EXPECT_NE(broken_body["error"]["message"].get<std::string>().find("broken.fab"), std::string::npos);
  // SIGHUP reloads the current paths.
  ::raise(SIGHUP);
  for (int i = 0; i < 300 && server->metrics().render().find("faceage_model_loads_total{result=\"ok\"} 3") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 3);
  EXPECT_EQ(server->model()->version(), version_b);
  EXPECT_EQ(server->model()->info().paths[0], bundle_b_);
  const auto metrics = server->metrics().render();
  EXPECT_NE(metrics.find("faceage_model_loads_total{result=\"ok\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("faceage_model_loads_total{result=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("version=\"" + version_b + "\""), std::string::npos);
  EXPECT_EQ(metrics.find("version=\"" + version_a + "\""), std::string::npos);
}

TEST_F(ServeServer, ServesTheRegistrysProductionLogsAndTakesFeedback) {
  monitor::ModelRegistry registry(dir_->file("registry"));
  for (const auto& bundle : {bundle_a_, bundle_b_}) {
    registry.register_version(monitor::register_request_from_bundle_info(bundle, models::read_bundle_info(bundle)),
                              {"test", "test bundle"});
  }
  auto options = test_options(bundle_a_);
  options.model_paths.clear();
  options.registry = registry.dir();
  options.registry_poll_s = 0.1;
  options.prediction_log = dir_->file("log/predictions.db");
  // No production version yet: the server cannot start serving, and says why.
  EXPECT_THROW(start(options), Error);
  registry.promote(1, {"test", "first"});
  auto server = start(options);
  auto c = client(server->port());

  auto models = json::parse(c.Get("/v1/models")->body)["models"][0];
  EXPECT_EQ(models["version"], "1");
  EXPECT_EQ(models["registry"]["version"], 1);
  EXPECT_EQ(models["registry"]["stage"], "production");

  auto answer = c.Post("/v1/predict", face_, "image/png");
  ASSERT_EQ(answer->status, 200) << answer->body;
  const auto body = json::parse(answer->body);
  EXPECT_EQ(body["model_version"], "1");
  const std::string request_id = body["request_id"];
  EXPECT_EQ(answer->get_header_value("X-Request-Id"), request_id);
  // OIP v2 answers carry it as a parameter.
  json v2 = {{"inputs", {{{"name", "image"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {base64_encode(face_)}}}}}};
  auto v2_answer = c.Post("/v2/models/faceage/infer", v2.dump(), "application/json");
  ASSERT_EQ(v2_answer->status, 200) << v2_answer->body;
  EXPECT_EQ(json::parse(v2_answer->body)["parameters"]["request_id"], v2_answer->get_header_value("X-Request-Id"));

  auto feedback = c.Post("/v1/feedback", json{{"request_id", request_id}, {"face", 0}, {"age", 40}}.dump(), "application/json");
  ASSERT_EQ(feedback->status, 200) << feedback->body;
  EXPECT_EQ(json::parse(feedback->body)["model_version"], "1");
  auto unknown = c.Post("/v1/feedback", json{{"request_id", "nobody"}, {"age", 40}}.dump(), "application/json");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(error_code(unknown), "not_found");
  auto no_face = c.Post("/v1/feedback", json{{"request_id", request_id}, {"face", 9}, {"age", 40}}.dump(), "application/json");
  EXPECT_EQ(no_face->status, 400);
  EXPECT_EQ(c.Post("/v1/feedback", "age=40", "text/plain")->status, 415);
  const auto metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("faceage_feedback_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("faceage_feedback_mae_years{band=\"all\"}"), std::string::npos);

  // A promotion switches the running server.
  registry.promote(2, {"test", "second"});
  for (int i = 0; i < 200 && server->model()->version() != "2"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_EQ(server->model()->version(), "2");
  EXPECT_EQ(json::parse(c.Get("/v1/models")->body)["models"][0]["registry"]["version"], 2);
  EXPECT_EQ(json::parse(c.Post("/v1/predict", face_, "image/png")->body)["model_version"], "2");
  server.reset();  // the log writer drains on destruction

  const auto logged = monitor::read_prediction_log(options.prediction_log);
  ASSERT_EQ(logged.size(), 3u);
  EXPECT_EQ(logged[0].request_id, request_id);
  EXPECT_EQ(logged[0].model_version, "1");
  EXPECT_EQ(logged[2].model_version, "2");
  EXPECT_GT(logged[0].latency_ms, 0);
  ASSERT_FALSE(logged[0].faces.empty());
  const auto labelled = monitor::read_feedback(options.prediction_log);
  ASSERT_EQ(labelled.size(), 1u);
  EXPECT_DOUBLE_EQ(labelled[0].true_age, 40);
}

TEST_F(ServeServer, SigtermDrainsInFlightRequestsThenStops) {
  auto options = test_options(bundle_a_);
  auto server = start(options);
  server->handle_signals();
  // A request with several images takes a while: SIGTERM arrives while it is in flight.
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 6; ++i) files.push_back({"f" + std::to_string(i) + ".png", face_});
  int slow_status = -1;
  std::string slow_body;
  std::thread in_flight([&] {
    auto c = client(server->port());
    if (auto r = c.Post("/v1/predict", form(files))) {
      slow_status = r->status;
      slow_body = r->body;
    }
  });
  auto& gauge = server->metrics().gauge("faceage_http_requests_in_flight", "HTTP requests being processed");
  for (int i = 0; i < 1000 && gauge.value() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_GE(gauge.value(), 1) << "the request never started";
  ::raise(SIGTERM);
  server->wait();  // returns once drained
  in_flight.join();
  ASSERT_EQ(slow_status, 200) << "the in-flight request was cut off: " << slow_body;
  EXPECT_EQ(json::parse(slow_body)["predictions"].size(), 6u);
  EXPECT_FALSE(server->running());
  auto c = client(server->port());
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/ping")) << "still accepting after SIGTERM";
}

}  // namespace
}  // namespace faceage::serve
