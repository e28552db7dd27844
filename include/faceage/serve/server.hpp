#pragma once
// The HTTP server over the same Predictor the CLI uses (docs/http-api.md lists every route):
//   GET  /                      the web page (embedded; no files needed at run time)
//   GET  /ping                  SageMaker health: 200 once a model is loaded, else 503
//   POST /invocations           SageMaker: image bytes or JSON {"image": b64} / {"instances": [...]}
//   GET  /v2/health/live|ready, GET /v2/models/{name}[/ready], POST /v2/models/{name}/infer
//                               Open Inference Protocol v2 (KServe / Triton REST)
//   POST /v1/predict            multipart field(s) `image` or a raw image body; ?annotate=1
//   GET  /v1/models             loaded model(s) (with the registry version when serving from one)
//   POST /v1/feedback           {request_id, face, age[, gender]}: a true label beside a logged answer
//   GET  /metrics               Prometheus text format
//   POST /admin/reload          hot reload (also SIGHUP); body {"models": [paths]} optional
// Every route but health checks needs the bearer token when one is configured. Every answer
// carries X-Request-Id (the client's, when it sent a valid one); prediction answers carry it in
// the body too (request_id; OIP v2: parameters.request_id), for feedback to refer to.
// With options.registry the server serves the registry's production version and follows it; with
// options.prediction_log each prediction request is logged off the request path (ModelMonitor).
//
//   Server server(options, context);
//   int port = server.start();          // bound and accepting (503 until a model is loaded)
//   server.load_models();               // throws when the initial load fails
//   server.handle_signals();            // SIGTERM/SIGINT: drain and stop; SIGHUP: reload
//   server.wait();                      // returns after stop() has drained in-flight requests
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "faceage/core/context.hpp"
#include "faceage/core/error.hpp"
#include "faceage/serve/metrics.hpp"
#include "faceage/serve/options.hpp"

namespace faceage::serve {

class ServedModel;

struct ReloadResult {
  bool ok = false;
  std::string version;   // the version now serving
  std::string error;     // why the new model was not loaded (the old one keeps serving)
  ErrorCode error_code = ErrorCode::kModel;  // what kind of failure `error` is (HTTP status via the error table)
  double seconds = 0;
};

class Server {
 public:
  Server(const ServeOptions& options, const Context& context);
  ~Server();  // stops and drains if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.host:options.port (0: ephemeral) and starts accepting on a background thread.
  // Returns the bound port. kIo when the address cannot be bound.
  int start();
  int port() const { return port_; }

  // Loads options.model_paths (or the default model), or the registry's production version and
  // starts following the registry. Throws (kNotFound / kModel) on failure.
  void load_models();
  // Loads `paths` (empty: the registry's production version when serving from one, else the
  // current paths) beside the serving model and swaps it in; requests in flight finish on the old
  // version. On failure the old model keeps serving.
  ReloadResult reload(const std::vector<std::string>& paths = {});
  bool ready() const;

  // SIGTERM / SIGINT -> stop() (drain), SIGHUP -> reload(). Owned by this object; undone by
  // the destructor.
  void handle_signals();

  // Stops accepting; connections finish their current request; returns at once (see wait()).
  void stop();
  // Blocks until the server has stopped and every in-flight request has been answered.
  void wait();
  bool running() const;

  MetricsRegistry& metrics();
  std::shared_ptr<ServedModel> model() const;  // null before load_models()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// The embedded web page (web/index.html at build time).
const std::string& index_html();

}  // namespace faceage::serve
