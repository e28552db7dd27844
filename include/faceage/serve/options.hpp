#pragma once
// Server settings: configs/serve/default.yaml <- --config FILE <- --set key=value.
// Keys are flat ("port", "max_batch_size"); every key is optional and named in its error.
#include <cstdint>
#include <string>
#include <vector>

#include "faceage/core/config.hpp"
#include "faceage/models/precision.hpp"

namespace faceage::serve {

struct ServeOptions {
  std::vector<std::string> model_paths;  // empty: the default model
  std::string model_name = "faceage";    // name in /v2/models/{name} and /v1/models
  std::string host = "127.0.0.1";        // loopback unless told otherwise
  int port = 8000;                       // 0: an ephemeral port (tests)
  // SageMaker's container contract: port 8080 and every interface (0.0.0.0), unless set explicitly.
  bool sagemaker = false;
  // HTTP worker threads (httplib serves one connection per thread, so this bounds concurrent
  // keep-alive connections); decode, detect and align run on them, at most face_workers at once.
  int threads = 64;
  int face_workers = 0;       // face pipelines (detector instances); 0: the context's threads
  // LibTorch intra-op threads of the batched model call. 1: the server parallelises across
  // requests (face_workers beside the batcher), and a second model thread only competes with them
  // (measured, 2 cores: 321-353 req/s on one thread against 237-267 on two; docs/deploy.md).
  int model_threads = 1;
  int max_batch_size = 16;    // faces per batched model call (1: no dynamic batching)
  double max_wait_ms = 5.0;   // how long a batch waits for more requests to join
  double max_body_mb = 16.0;  // request body limit (413 above it)
  std::int64_t max_pixels = 40'000'000;  // decoded width*height limit (413 above it)
  int max_images_per_request = 32;       // images in one request (413 above it)
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  int keep_alive_timeout_s = 5;
  // Bearer token for every route but health checks: `auth_token`, else the env var named here.
  std::string auth_token;
  std::string auth_token_env = "FACEAGE_API_TOKEN";
  std::string access_log = "-";  // "-": stderr, "": off, else a file appended to
  bool all_faces = true;         // every face per image, else the largest
  // Test-time flip averaging doubles the model's work per face for ~0.08 years of validation MAE
  // (docs/model-card.md); off by default for throughput (docs/deploy.md).
  bool flip_average = false;
  // Backbone precision (config: auto, float32, bfloat16); auto: bfloat16 where the CPU has native bf16.
  models::InferencePrecision precision = models::InferencePrecision::kAuto;
  std::string detector;          // empty: the bundle's detector
  int annotate_quality = 90;     // JPEG quality of ?annotate=1 images
  // As infer::PredictorOptions: the p_minor gate, the interval coverage, the quality threshold of
  // `unreliable`, and whether an image with only unreliable faces is refused (422 no_face).
  double minor_gate = 18;
  double coverage = 0.9;
  double unreliable_below = 0.3;
  bool refuse_unreliable = false;

  // Model lifecycle (docs/monitoring.md).
  // A model registry directory: serve its production version and switch (hot reload, no failed
  // request) when production changes; polled every registry_poll_s. Excludes `models`.
  std::string registry;
  double registry_poll_s = 5;
  // The prediction log (SQLite; "" off): per request and face the input statistics and outputs,
  // never the image, written by a background thread from a bounded queue (full: dropped, counted).
  std::string prediction_log;
  double prediction_log_max_mb = 64;  // rotate above this
  int prediction_log_keep = 3;        // rotated files kept
  int prediction_log_queue = 10000;   // records waiting for the writer
  // Drift gauges on /metrics over the last drift_window faces against the serving model's
  // reference profile (its bundle's metadata.reference_profile), else this file ("" none).
  std::string reference_profile;
  int drift_window = 1000;
  int drift_min_faces = 30;  // fewer faces in the window: no verdict (faceage_drift_detected 0)
  // Live accuracy on /metrics over the last feedback_window labelled faces (POST /v1/feedback).
  int feedback_window = 1000;

  std::int64_t max_body_bytes() const { return static_cast<std::int64_t>(max_body_mb * 1024 * 1024); }
};

// Reads every known key from `config` over the defaults; unknown keys are kConfig (typos must not
// pass silently). `sagemaker: true` changes host/port defaults unless they are given.
ServeOptions serve_options_from_config(const Config& config);
// kInvalidArgument naming the key.
void validate(const ServeOptions& options);
// The token requests must carry: options.auth_token, else $auth_token_env; "" means no auth.
std::string resolve_auth_token(const ServeOptions& options);

}  // namespace faceage::serve
