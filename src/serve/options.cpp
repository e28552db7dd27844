#include "faceage/serve/options.hpp"

#include <cstdlib>
#include <set>

#include "faceage/core/check.hpp"
#include "faceage/core/registry.hpp"

namespace faceage::serve {

namespace {
const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = {
      "models", "model_name", "host", "port", "sagemaker", "threads", "face_workers", "model_threads", "max_batch_size",
      "max_wait_ms",
      "max_body_mb", "max_pixels", "max_images_per_request", "read_timeout_s", "write_timeout_s",
      "keep_alive_timeout_s", "auth_token", "auth_token_env", "access_log", "all_faces", "flip_average", "precision",
      "detector", "annotate_quality", "minor_gate", "coverage", "unreliable_below", "refuse_unreliable", "registry",
      "registry_poll_s", "prediction_log", "prediction_log_max_mb", "prediction_log_keep", "prediction_log_queue",
      "reference_profile", "drift_window", "drift_min_faces", "feedback_window"};
  return keys;
}
}  // namespace

ServeOptions serve_options_from_config(const Config& config) {
  const std::set<std::string> known(known_keys().begin(), known_keys().end());
  for (const auto& key : config.keys()) {
    FACEAGE_CHECK(known.count(key), ErrorCode::kConfig,
                  "unknown serve config key '" << key << "'; known keys: " << join(known_keys(), ", "));
  }
  ServeOptions o;
  o.sagemaker = config.get_or<bool>("sagemaker", o.sagemaker);
  if (o.sagemaker) {
    // SageMaker sends traffic to port 8080 on the container's interface, not loopback.
    o.host = "0.0.0.0";
    o.port = 8080;
  }
  if (config.has("models")) {
    if (config.node()["models"].IsSequence()) {
      o.model_paths = config.get<std::vector<std::string>>("models");
    } else {
      o.model_paths = {config.get<std::string>("models")};
    }
  }
  o.model_name = config.get_or<std::string>("model_name", o.model_name);
  o.host = config.get_or<std::string>("host", o.host);
  o.port = config.get_or<int>("port", o.port);
  o.threads = config.get_or<int>("threads", o.threads);
  o.face_workers = config.get_or<int>("face_workers", o.face_workers);
  o.model_threads = config.get_or<int>("model_threads", o.model_threads);
  o.max_batch_size = config.get_or<int>("max_batch_size", o.max_batch_size);
  o.max_wait_ms = config.get_or<double>("max_wait_ms", o.max_wait_ms);
  o.max_body_mb = config.get_or<double>("max_body_mb", o.max_body_mb);
  o.max_pixels = config.get_or<std::int64_t>("max_pixels", o.max_pixels);
  o.max_images_per_request = config.get_or<int>("max_images_per_request", o.max_images_per_request);
  o.read_timeout_s = config.get_or<int>("read_timeout_s", o.read_timeout_s);
  o.write_timeout_s = config.get_or<int>("write_timeout_s", o.write_timeout_s);
  o.keep_alive_timeout_s = config.get_or<int>("keep_alive_timeout_s", o.keep_alive_timeout_s);
  o.auth_token = config.get_or<std::string>("auth_token", o.auth_token);
  o.auth_token_env = config.get_or<std::string>("auth_token_env", o.auth_token_env);
  o.access_log = config.get_or<std::string>("access_log", o.access_log);
  o.all_faces = config.get_or<bool>("all_faces", o.all_faces);
  o.flip_average = config.get_or<bool>("flip_average", o.flip_average);
  // An unknown name is kInvalidArgument naming the option and the choices.
  o.precision = models::parse_precision(config.get_or<std::string>("precision", models::precision_name(o.precision)));
  o.detector = config.get_or<std::string>("detector", o.detector);
  o.annotate_quality = config.get_or<int>("annotate_quality", o.annotate_quality);
  o.minor_gate = config.get_or<double>("minor_gate", o.minor_gate);
  o.coverage = config.get_or<double>("coverage", o.coverage);
  o.unreliable_below = config.get_or<double>("unreliable_below", o.unreliable_below);
  o.refuse_unreliable = config.get_or<bool>("refuse_unreliable", o.refuse_unreliable);
  o.registry = config.get_or<std::string>("registry", o.registry);
  o.registry_poll_s = config.get_or<double>("registry_poll_s", o.registry_poll_s);
  o.prediction_log = config.get_or<std::string>("prediction_log", o.prediction_log);
  o.prediction_log_max_mb = config.get_or<double>("prediction_log_max_mb", o.prediction_log_max_mb);
  o.prediction_log_keep = config.get_or<int>("prediction_log_keep", o.prediction_log_keep);
  o.prediction_log_queue = config.get_or<int>("prediction_log_queue", o.prediction_log_queue);
  o.reference_profile = config.get_or<std::string>("reference_profile", o.reference_profile);
  o.drift_window = config.get_or<int>("drift_window", o.drift_window);
  o.drift_min_faces = config.get_or<int>("drift_min_faces", o.drift_min_faces);
  o.feedback_window = config.get_or<int>("feedback_window", o.feedback_window);
  validate(o);
  return o;
}

void validate(const ServeOptions& o) {
  auto check = [](bool ok, const std::string& key, const std::string& rule, const std::string& value) {
    FACEAGE_CHECK(ok, ErrorCode::kInvalidArgument, "serve option '" << key << "' must be " << rule << ", got " << value);
  };
  check(!o.host.empty(), "host", "an address such as 127.0.0.1", "\"\"");
  check(o.port >= 0 && o.port <= 65535, "port", "in [0, 65535]", std::to_string(o.port));
  check(o.threads >= 1 && o.threads <= 1024, "threads", "in [1, 1024]", std::to_string(o.threads));
  check(o.face_workers >= 0 && o.face_workers <= 1024, "face_workers", "in [0, 1024]", std::to_string(o.face_workers));
  check(o.model_threads >= 1 && o.model_threads <= 1024, "model_threads", "in [1, 1024]",
        std::to_string(o.model_threads));
  check(o.max_batch_size >= 1 && o.max_batch_size <= 1024, "max_batch_size", "in [1, 1024]",
        std::to_string(o.max_batch_size));
  check(o.max_wait_ms >= 0 && o.max_wait_ms <= 10'000, "max_wait_ms", "in [0, 10000]", std::to_string(o.max_wait_ms));
  check(o.max_body_mb > 0 && o.max_body_mb <= 4096, "max_body_mb", "in (0, 4096]", std::to_string(o.max_body_mb));
  check(o.max_pixels > 0, "max_pixels", "> 0", std::to_string(o.max_pixels));
  check(o.minor_gate > 0, "minor_gate", "> 0", std::to_string(o.minor_gate));
  check(o.coverage > 0 && o.coverage < 1, "coverage", "in (0, 1)", std::to_string(o.coverage));
  check(o.max_images_per_request >= 1, "max_images_per_request", ">= 1", std::to_string(o.max_images_per_request));
  check(o.read_timeout_s >= 1, "read_timeout_s", ">= 1", std::to_string(o.read_timeout_s));
  check(o.write_timeout_s >= 1, "write_timeout_s", ">= 1", std::to_string(o.write_timeout_s));
  check(o.keep_alive_timeout_s >= 1, "keep_alive_timeout_s", ">= 1", std::to_string(o.keep_alive_timeout_s));
  check(o.annotate_quality >= 1 && o.annotate_quality <= 100, "annotate_quality", "in [1, 100]",
        std::to_string(o.annotate_quality));
  check(!o.model_name.empty() && o.model_name.find('/') == std::string::npos, "model_name",
        "a non-empty name without '/'", o.model_name);
  check(o.registry.empty() || o.model_paths.empty(), "registry",
        "empty when models are given (the registry decides what is served)", o.registry);
  check(o.registry_poll_s >= 0.05 && o.registry_poll_s <= 3600, "registry_poll_s", "in [0.05, 3600]",
        std::to_string(o.registry_poll_s));
  check(o.prediction_log_max_mb > 0, "prediction_log_max_mb", "> 0", std::to_string(o.prediction_log_max_mb));
  check(o.prediction_log_keep >= 0, "prediction_log_keep", ">= 0", std::to_string(o.prediction_log_keep));
  check(o.prediction_log_queue >= 1, "prediction_log_queue", ">= 1", std::to_string(o.prediction_log_queue));
  check(o.drift_window >= 1, "drift_window", ">= 1", std::to_string(o.drift_window));
  check(o.drift_min_faces >= 1, "drift_min_faces", ">= 1", std::to_string(o.drift_min_faces));
  check(o.feedback_window >= 1, "feedback_window", ">= 1", std::to_string(o.feedback_window));
}

std::string resolve_auth_token(const ServeOptions& options) {
  if (!options.auth_token.empty()) return options.auth_token;
  if (options.auth_token_env.empty()) return {};
  const char* env = std::getenv(options.auth_token_env.c_str());
  return env ? std::string(env) : std::string();
}

}  // namespace faceage::serve
