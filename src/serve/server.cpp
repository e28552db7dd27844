#include "faceage/serve/server.hpp"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/infer/monitoring.hpp"
#include "faceage/monitor/time.hpp"
#include "faceage/serve/access_log.hpp"
#include "faceage/serve/http_util.hpp"
#include "faceage/serve/model_monitor.hpp"
#include "faceage/serve/registry_watch.hpp"
#include "faceage/serve/served_model.hpp"
#include "faceage/serve/signals.hpp"
#include "faceage/serve/web_page.hpp"
#include "requests.hpp"

namespace faceage::serve {

const std::string& index_html() {
  static const std::string page(generated::kIndexHtml);
  return page;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kJson = "application/json";

// What a route handler reports back to the wrapper for logs and metrics.
struct RequestState {
  std::string request_id;
  int faces = -1;
  double arrival = 0;  // unix seconds
  // Set by prediction routes when the monitor wants it; logged after the answer is sent.
  std::optional<monitor::PredictionRecord> log_record;
};

// What a (re)load serves: bundle paths, and where they came from when a registry named them.
struct ModelSource {
  std::vector<std::string> paths;
  std::string version;                // "" : derived from the bundle
  nlohmann::json registry;            // null unless from a registry
  std::optional<int> registry_version;
};

ModelSource source_of(const std::string& registry_dir, const monitor::ModelVersion& v) {
  return {{v.bundle_path},
          std::to_string(v.version),
          {{"dir", registry_dir},
           {"version", v.version},
           {"stage", monitor::stage_name(v.stage)},
           {"sha256", v.sha256},
           {"created_at", v.created_at}},
          v.version};
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

bool is_loopback(const std::string& address) {
  return starts_with(address, "127.") || address == "::1" || address == "::ffff:127.0.0.1";
}

std::string sanitize_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return {};
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return {};
  }
  return id;
}

// A request fails as a whole only when every image failed: then with the first image's error.
std::optional<infer::PredictionError> whole_request_error(const std::vector<infer::ImagePrediction>& predictions) {
  for (const auto& p : predictions) {
    if (p.ok()) return std::nullopt;
  }
  return predictions.empty() ? std::nullopt : predictions.front().error;
}

}  // namespace

// httplib listens with a backlog of 5: a burst of new connections (a load balancer warming up,
// 8 clients connecting at once) overflows it and the dropped SYNs are retried after 1 s, 3 s...
// Linux lets listen() be called again on a listening socket to raise the backlog.
class HttpServer : public httplib::Server {
 public:
  void raise_backlog(int backlog) {
    const auto socket = svr_sock_.load();
    if (socket != INVALID_SOCKET) ::listen(socket, backlog);
  }
};

struct Server::Impl {
  ServeOptions options;
  Context context;
  std::string token;
  MetricsRegistry metrics;
  AccessLog access_log;
  HttpServer http;
  std::thread listen_thread;
  std::atomic<bool> started{false};
  std::atomic<bool> listen_done{false};

  mutable std::mutex model_mutex;
  std::shared_ptr<ServedModel> model;
  std::vector<std::string> model_paths;
  std::mutex reload_mutex;  // one load at a time

  std::unique_ptr<SignalWatcher> signals;
  std::unique_ptr<ModelMonitor> model_monitor;  // prediction log, drift and feedback windows
  std::atomic<std::uint64_t> next_request{0};
  std::string request_prefix;

  // Metrics held by reference (lock-free updates).
  Gauge& in_flight;
  Histogram& queue_seconds;
  Histogram& compute_seconds;
  Histogram& batch_size;
  Histogram& batch_requests;
  Histogram& faces_per_image;
  Histogram& predicted_age;

  Impl(const ServeOptions& o, const Context& c)
      : options(o),
        context(c),
        token(resolve_auth_token(o)),
        access_log(o.access_log),
        in_flight(metrics.gauge("faceage_http_requests_in_flight", "HTTP requests being processed")),
        queue_seconds(metrics.histogram("faceage_inference_queue_duration_seconds",
                                        "Time a request's faces waited for the dynamic batcher",
                                        exponential_buckets(0.0001, 2, 16))),
        compute_seconds(metrics.histogram("faceage_inference_compute_duration_seconds",
                                          "Duration of one batched model call", exponential_buckets(0.001, 2, 14))),
        batch_size(metrics.histogram("faceage_inference_batch_size", "Faces per batched model call",
                                     {1, 2, 4, 8, 16, 32, 64, 128, 256})),
        batch_requests(metrics.histogram("faceage_inference_batch_requests", "Requests merged into one model call",
                                         {1, 2, 4, 8, 16, 32, 64})),
        faces_per_image(metrics.histogram("faceage_faces_per_image", "Faces found per image",
                                          {0, 1, 2, 3, 4, 5, 10, 20, 50})),
        predicted_age(metrics.histogram("faceage_predicted_age_years", "Predicted age of each face",
                                        linear_buckets(5, 5, 19))) {
    std::random_device entropy;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%08x", entropy());
    request_prefix = prefix;
  }

  std::shared_ptr<ServedModel> current_model() const {
    std::lock_guard<std::mutex> lock(model_mutex);
    return model;
  }

  std::shared_ptr<ServedModel> make_model(const ModelSource& source) {
    ServedModelOptions o;
    o.predictor.model_paths = source.paths;
    o.version = source.version;
    o.registry = source.registry;
    o.predictor.all_faces = options.all_faces;
    o.predictor.flip_average = options.flip_average;
    o.predictor.precision = options.precision;
    o.predictor.detector = options.detector;
    o.predictor.minor_gate = options.minor_gate;
    o.predictor.coverage = options.coverage;
    o.predictor.unreliable_below = options.unreliable_below;
    o.predictor.refuse_unreliable = options.refuse_unreliable;
    o.predictor.decode.max_pixels = options.max_pixels;
    o.predictor.decode.max_bytes = options.max_body_bytes();
    o.face_workers = options.face_workers;
    o.batching.max_batch_size = options.max_batch_size;
    o.batching.max_wait_ms = options.max_wait_ms;
    o.on_batch = [this](const BatchStats& stats) {
      batch_size.observe(static_cast<double>(stats.crops));
      batch_requests.observe(static_cast<double>(stats.requests));
      compute_seconds.observe(stats.run_seconds);
    };
    return std::make_shared<ServedModel>(o, context);
  }

  void publish_model_info(const ServedModel& served) {
    metrics.clear_gauge("faceage_model_info");
    const auto description = served.describe(options.model_name);
    metrics
        .gauge("faceage_model_info", "The model being served (value 1)",
               {{"model", options.model_name},
                {"version", served.version()},
                {"arch", description.value("arch", "")},
                {"detector", description.value("detector", "")}})
        .set(1);
  }

  // ---- request plumbing ----

  using Handler = std::function<void(const httplib::Request&, httplib::Response&, RequestState&)>;

  void route(const std::string& method, const std::string& pattern, const std::string& label, bool needs_auth,
             Handler handler) {
    auto wrapped = [this, method, label, needs_auth, handler](const httplib::Request& req, httplib::Response& res) {
      const auto start = Clock::now();
      in_flight.inc();
      RequestState state;
      state.arrival = monitor::unix_now();
      state.request_id = sanitize_request_id(req.get_header_value("X-Request-Id"));
      if (state.request_id.empty()) state.request_id = request_prefix + "-" + std::to_string(++next_request);
      try {
        if (needs_auth) authorize(req);
        handler(req, res, state);
        if (res.status == -1) res.status = 200;  // set_content() leaves it to httplib
      } catch (const Error& e) {
        send_json(res, http_status(e.code()), error_body(e.code(), e.full_message()));
        if (e.code() == ErrorCode::kUnauthorized) res.set_header("WWW-Authenticate", "Bearer realm=\"faceage\"");
      } catch (const nlohmann::json::parse_error& e) {
        send_json(res, 400, error_body(ErrorCode::kInvalidArgument, std::string("the body is not valid JSON: ") + e.what()));
      } catch (const std::bad_alloc&) {
        send_json(res, 413, error_body(ErrorCode::kTooLarge, "the request needs more memory than is available"));
      } catch (const std::exception& e) {
        if (context.logger) context.logger->error("request {} {} failed: {}", method, req.path, e.what());
        send_json(res, 500, error_body(ErrorCode::kInternal, e.what()));
      }
      res.set_header("X-Request-Id", state.request_id);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      record(req, res, label, state, seconds);
      if (state.log_record) {
        state.log_record->latency_ms = seconds * 1000.0;
        model_monitor->observe(std::move(*state.log_record));  // a queue push: the disk is another thread's
      }
      in_flight.dec();
    };
    if (method == "GET") http.Get(pattern, wrapped);
    else http.Post(pattern, wrapped);
  }

  void record(const httplib::Request& req, const httplib::Response& res, const std::string& label,
              const RequestState& state, double seconds) {
    metrics
        .counter("faceage_http_requests_total", "HTTP requests by route, method and status",
                 {{"route", label}, {"method", req.method}, {"status", std::to_string(res.status)}})
        .inc();
    metrics
        .histogram("faceage_http_request_duration_seconds", "HTTP request latency by route",
                   exponential_buckets(0.001, 2, 15), {{"route", label}})
        .observe(seconds);
    AccessRecord r;
    r.request_id = state.request_id;
    r.method = req.method;
    r.path = req.path;
    r.remote = req.remote_addr;
    r.status = res.status;
    r.latency_ms = seconds * 1000.0;
    r.bytes_in = req.body.size();
    for (const auto& [name, file] : req.files) r.bytes_in += file.content.size();
    r.bytes_out = res.body.size();
    r.faces = state.faces;
    access_log.write(r);
  }

  void authorize(const httplib::Request& req) const {
    if (token.empty()) return;
    const std::string given = bearer_token(req.get_header_value("Authorization"));
    if (given.empty()) throw Error(ErrorCode::kUnauthorized, "this route needs 'Authorization: Bearer TOKEN'");
    if (!constant_time_equal(given, token)) throw Error(ErrorCode::kUnauthorized, "the bearer token is not valid");
  }

  std::shared_ptr<ServedModel> ready_model() const {
    auto served = current_model();
    if (!served) throw Error(ErrorCode::kNotReady, "the model is still loading", "retry in a few seconds");
    return served;
  }

  void check_model_name(const std::string& name) const {
    FACEAGE_CHECK(name == options.model_name, ErrorCode::kNotFound,
                  "unknown model '" << name << "'; available: " << options.model_name);
  }
  void check_model_name(const std::string& name, const std::string& version, const ServedModel& served) const {
    check_model_name(name);
    FACEAGE_CHECK(version.empty() || version == served.version(), ErrorCode::kNotFound,
                  "model '" << name << "' has no version '" << version << "'; serving " << served.version());
  }

  // Runs the images and records per-image metrics.
  std::vector<infer::ImagePrediction> run_images(ServedModel& served, const ImageList& list, RequestState& state,
                                                 std::vector<cv::Mat>* rgbs = nullptr) {
    check_image_count(list.items.size(), options.max_images_per_request);
    std::vector<ServedModel::ImageBytes> images;
    images.reserve(list.items.size());
    for (const auto& item : list.items) {
      images.push_back({reinterpret_cast<const std::uint8_t*>(item.bytes.data()), item.bytes.size(), item.source});
    }
    ImageTimings timings;
    auto predictions = served.predict(images, &timings, rgbs);
    queue_seconds.observe(timings.queue_seconds);
    int faces = 0;
    for (const auto& p : predictions) {
      metrics
          .counter("faceage_images_total", "Images processed by outcome",
                   {{"outcome", p.ok() ? "ok" : error_code_name(p.error->code)}})
          .inc();
      if (!p.ok()) continue;
      faces_per_image.observe(static_cast<double>(p.faces.size()));
      for (const auto& face : p.faces) predicted_age.observe(face.age);
      faces += static_cast<int>(p.faces.size());
    }
    state.faces = faces;
    if (model_monitor->wants_records()) {
      monitor::PredictionRecord r;
      r.time = state.arrival;
      r.request_id = state.request_id;
      r.model_version = served.version();
      for (const auto& p : predictions) {
        auto logged = infer::logged_faces(p);
        r.faces.insert(r.faces.end(), std::make_move_iterator(logged.begin()), std::make_move_iterator(logged.end()));
      }
      state.log_record = std::move(r);
    }
    return predictions;
  }

  // The JSON answer of /v1/predict and /invocations.
  nlohmann::json predictions_json(const ServedModel& served, const std::vector<infer::ImagePrediction>& predictions,
                                  const RequestState& state) const {
    nlohmann::json images = nlohmann::json::array();
    for (std::size_t i = 0; i < predictions.size(); ++i) images.push_back(image_answer(i, predictions[i]));
    return {{"model", options.model_name},
            {"model_version", served.version()},
            {"request_id", state.request_id},
            {"predictions", std::move(images)}};
  }

  void answer_predictions(httplib::Response& res, const ServedModel& served,
                          const std::vector<infer::ImagePrediction>& predictions, const RequestState& state) {
    if (auto error = whole_request_error(predictions)) {
      send_json(res, http_status(error->code), error_body(error->code, error->message));
      return;
    }
    send_json(res, 200, predictions_json(served, predictions, state));
  }

  // Images of a /v1/predict or /invocations body, by content type.
  ImageList images_of(const httplib::Request& req, bool multipart_allowed) const {
    ImageList list;
    const std::string media = media_type(req.get_header_value("Content-Type"));
    if (multipart_allowed && req.is_multipart_form_data()) {
      auto range = req.files.equal_range("image");
      for (auto it = range.first; it != range.second; ++it) {
        list.add_view(it->second.content, it->second.filename.empty() ? "image" : it->second.filename);
      }
      FACEAGE_CHECK(!list.items.empty(), ErrorCode::kInvalidArgument,
                    "the multipart form has no 'image' field (send the file as field 'image')");
      return list;
    }
    if (media == kJson) return images_from_json(nlohmann::json::parse(req.body));
    if (is_image_media_type(media) || (media.empty() && !req.body.empty())) {
      FACEAGE_CHECK(!req.body.empty(), ErrorCode::kInvalidArgument, "the request body is empty; send an image");
      list.add_view(req.body, "body");
      return list;
    }
    if (media.empty()) throw Error(ErrorCode::kInvalidArgument, "the request has no body; send an image");
    throw Error(ErrorCode::kUnsupportedMediaType,
                "content type '" + media + "' is not accepted",
                std::string("send image/jpeg, image/png, application/x-image, application/json") +
                    (multipart_allowed ? " or multipart/form-data with field 'image'" : ""));
  }

  // ---- routes ----

  void add_routes() {
    route("GET", "/", "/", false, [](const httplib::Request&, httplib::Response& res, RequestState&) {
      res.set_content(index_html(), "text/html; charset=utf-8");
    });

    // Health checks never need the token (orchestrators probe without one).
    route("GET", "/ping", "/ping", false, [this](const httplib::Request&, httplib::Response& res, RequestState&) {
      if (!current_model()) throw Error(ErrorCode::kNotReady, "the model is still loading");
      send_json(res, 200, {{"status", "ok"}});
    });
    route("GET", "/v2/health/live", "/v2/health/live", false,
          [](const httplib::Request&, httplib::Response& res, RequestState&) { send_json(res, 200, {{"live", true}}); });
    route("GET", "/v2/health/ready", "/v2/health/ready", false,
          [this](const httplib::Request&, httplib::Response& res, RequestState&) {
            const bool is_ready = current_model() != nullptr;
            send_json(res, is_ready ? 200 : 503, {{"ready", is_ready}});
          });
    route("GET", R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/ready)", "/v2/models/{name}/ready", false,
          [this](const httplib::Request& req, httplib::Response& res, RequestState&) {
            auto served = current_model();
            const std::string name = req.matches[1];
            check_model_name(name);
            if (served) check_model_name(name, req.matches[2], *served);
            send_json(res, served ? 200 : 503, {{"name", options.model_name}, {"ready", served != nullptr}});
          });

    route("GET", "/v2", "/v2", true, [](const httplib::Request&, httplib::Response& res, RequestState&) {
      send_json(res, 200, {{"name", "faceage"}, {"version", FACEAGE_VERSION}, {"extensions", nlohmann::json::array()}});
    });
    route("GET", R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)", "/v2/models/{name}", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState&) {
            auto served = ready_model();
            check_model_name(req.matches[1], req.matches[2], *served);
            send_json(res, 200, v2_model_metadata(options.model_name, served->version()));
          });
    route("POST", R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/infer)", "/v2/models/{name}/infer", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState& state) {
            v2_infer(req, res, state);
          });

    route("POST", "/invocations", "/invocations", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState& state) {
            auto served = ready_model();
            auto list = images_of(req, false);
            auto predictions = run_images(*served, list, state);
            answer_predictions(res, *served, predictions, state);
          });
    route("POST", "/v1/predict", "/v1/predict", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState& state) {
            v1_predict(req, res, state);
          });
    route("GET", "/v1/models", "/v1/models", true,
          [this](const httplib::Request&, httplib::Response& res, RequestState&) {
            auto served = current_model();
            nlohmann::json models = nlohmann::json::array();
            if (served) models.push_back(served->describe(options.model_name));
            send_json(res, 200, {{"ready", served != nullptr}, {"models", models}});
          });
    route("GET", "/metrics", "/metrics", true, [this](const httplib::Request&, httplib::Response& res, RequestState&) {
      model_monitor->refresh_metrics();
      res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    route("POST", "/v1/feedback", "/v1/feedback", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState&) {
            const std::string media = media_type(req.get_header_value("Content-Type"));
            FACEAGE_CHECK(media.empty() || media == kJson, ErrorCode::kUnsupportedMediaType,
                          "/v1/feedback takes application/json, got '" << media << "'");
            send_json(res, 200, model_monitor->feedback(nlohmann::json::parse(req.body)));
          });
    route("POST", "/admin/reload", "/admin/reload", true,
          [this](const httplib::Request& req, httplib::Response& res, RequestState&) {
            // Without a token, only local callers may swap models.
            if (token.empty() && !is_loopback(req.remote_addr)) {
              throw Error(ErrorCode::kForbidden, "/admin/reload needs a configured auth token for remote callers");
            }
            std::vector<std::string> paths;
            if (!trim(req.body).empty()) {
              auto body = nlohmann::json::parse(req.body);
              if (body.contains("models")) {
                const auto& models = body["models"];
                FACEAGE_CHECK(models.is_array() || models.is_string(), ErrorCode::kInvalidArgument,
                              "\"models\" must be a path or a list of paths");
                if (models.is_string()) paths.push_back(models.get<std::string>());
                else paths = models.get<std::vector<std::string>>();
              }
            }
            auto result = reload(paths);
            nlohmann::json body = {{"ok", result.ok}, {"version", result.version}, {"seconds", result.seconds}};
            if (!result.ok) body["error"] = error_body(result.error_code, result.error)["error"];
            send_json(res, result.ok ? 200 : http_status(result.error_code), body);
          });
  }

  void v1_predict(const httplib::Request& req, httplib::Response& res, RequestState& state) {
    auto served = ready_model();
    const std::string annotate = req.get_param_value("annotate");
    FACEAGE_CHECK(annotate.empty() || annotate == "0" || annotate == "1" || annotate == "jpeg",
                  ErrorCode::kInvalidArgument, "annotate must be 0, 1 or jpeg, got '" << annotate << "'");
    const bool want_annotation = annotate == "1" || annotate == "jpeg";
    auto list = images_of(req, true);
    std::vector<cv::Mat> rgbs;
    auto predictions = run_images(*served, list, state, want_annotation ? &rgbs : nullptr);
    if (!want_annotation) {
      answer_predictions(res, *served, predictions, state);
      return;
    }
    if (auto error = whole_request_error(predictions)) {
      send_json(res, http_status(error->code), error_body(error->code, error->message));
      return;
    }
    const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, options.annotate_quality};
    auto encode = [&](std::size_t i) {
      std::vector<std::uint8_t> jpeg;
      cv::imencode(".jpg", infer::annotate(rgbs[i], predictions[i]), jpeg, params);
      return jpeg;
    };
    if (annotate == "jpeg") {
      // The first image that succeeded, as a JPEG body; the records travel in a header.
      for (std::size_t i = 0; i < predictions.size(); ++i) {
        if (!predictions[i].ok()) continue;
        auto jpeg = encode(i);
        res.status = 200;
        res.set_content(reinterpret_cast<const char*>(jpeg.data()), jpeg.size(), "image/jpeg");
        res.set_header("X-Faceage-Faces", std::to_string(predictions[i].faces.size()));
        return;
      }
    }
    auto body = predictions_json(*served, predictions, state);
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      if (!predictions[i].ok()) continue;
      auto jpeg = encode(i);
      body["predictions"][i]["annotated_jpeg"] = base64_encode(jpeg.data(), jpeg.size());
    }
    send_json(res, 200, body);
  }

  void v2_infer(const httplib::Request& req, httplib::Response& res, RequestState& state) {
    auto served = current_model();
    try {
      if (!served) throw Error(ErrorCode::kNotReady, "the model is still loading", "retry in a few seconds");
      check_model_name(req.matches[1], req.matches[2], *served);
      const std::string media = media_type(req.get_header_value("Content-Type"));
      FACEAGE_CHECK(media.empty() || media == kJson, ErrorCode::kUnsupportedMediaType,
                    "the v2 infer route takes application/json, got '" << media << "'");
      auto request = parse_v2_request(nlohmann::json::parse(req.body));
      auto predictions = run_images(*served, request.images, state);
      if (auto error = whole_request_error(predictions)) {
        send_json(res, http_status(error->code), v2_error_body(error->code, error->message));
        return;
      }
      auto body = v2_response(request, predictions, options.model_name, served->version());
      body["parameters"] = {{"request_id", state.request_id}};  // the id /v1/feedback refers to
      send_json(res, 200, body);
    } catch (const Error& e) {
      send_json(res, http_status(e.code()), v2_error_body(e.code(), e.full_message()));
    } catch (const nlohmann::json::exception& e) {
      send_json(res, 400, v2_error_body(ErrorCode::kInvalidArgument,
                                        std::string("the body is not a valid inference request: ") + e.what()));
    }
  }

  // Errors httplib answers itself (no route, body over the limit, malformed request line).
  void add_error_handler() {
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // a route's own answer
      nlohmann::json body;
      switch (res.status) {
        case 404: body = error_body(ErrorCode::kNotFound, "no route for " + req.method + " " + req.path); break;
        case 413:
          body = error_body(ErrorCode::kTooLarge, "the request body is over the limit of " +
                                                      std::to_string(options.max_body_mb) + " MB (max_body_mb)");
          break;
        case 400: body = error_body(ErrorCode::kInvalidArgument, "malformed HTTP request"); break;
        default: body = error_body("http_" + std::to_string(res.status), "request failed"); break;
      }
      res.set_content(body.dump(), kJson);
      RequestState state;
      state.request_id = request_prefix + "-" + std::to_string(++next_request);
      res.set_header("X-Request-Id", state.request_id);
      record(req, res, "unmatched", state, 0.0);
      return httplib::Server::HandlerResponse::Handled;
    }));
  }

  // Loads `requested` (empty: the registry's production version when serving from a registry,
  // else the current paths) beside the serving model and swaps it in.
  ReloadResult reload(const std::vector<std::string>& requested) {
    if (requested.empty() && !options.registry.empty()) {
      return load([this] { return source_of(options.registry, production_version(options.registry)); });
    }
    return load([this, &requested] {
      ModelSource source;
      source.paths = requested;
      if (source.paths.empty()) {
        std::lock_guard<std::mutex> lock(model_mutex);
        source.paths = model_paths.empty() ? options.model_paths : model_paths;
      }
      return source;
    });
  }

  // `resolve` names what to load; it runs inside the failure handling, so a registry that cannot
  // be read fails the reload like a bundle that cannot be loaded (counted, logged, old model kept).
  ReloadResult load(const std::function<ModelSource()>& resolve) {
    std::lock_guard<std::mutex> reload_lock(reload_mutex);
    const auto start = Clock::now();
    ReloadResult result;
    try {
      const ModelSource source = resolve();
      // Loaded beside the serving model; requests keep using the old one until the swap.
      auto fresh = make_model(source);
      {
        std::lock_guard<std::mutex> lock(model_mutex);
        model = fresh;
        model_paths = source.paths;
      }
      publish_model_info(*fresh);
      model_monitor->model_changed(fresh->version(), fresh->info().bundles);
      result.ok = true;
      result.version = fresh->version();
      metrics.counter("faceage_model_loads_total", "Model loads and reloads by result", {{"result", "ok"}}).inc();
      if (context.logger) context.logger->info("serving model version {} ({})", result.version, join(fresh->info().paths, ", "));
    } catch (const std::exception& e) {
      const auto* error = dynamic_cast<const Error*>(&e);
      result.error = error ? error->full_message() : e.what();
      result.error_code = error ? error->code() : ErrorCode::kModel;
      auto current = current_model();
      result.version = current ? current->version() : "";
      metrics.counter("faceage_model_loads_total", "Model loads and reloads by result", {{"result", "failed"}}).inc();
      if (context.logger) {
        context.logger->error("model load failed, {}: {}",
                              current ? "still serving version " + result.version : "no model loaded", result.error);
      }
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }

  // Serving from a registry: follow its production version (promotions, rollbacks).
  void watch_registry(int serving_version) {
    registry_watcher = std::make_unique<RegistryWatcher>(
        options.registry, serving_version,
        std::chrono::milliseconds(static_cast<std::int64_t>(options.registry_poll_s * 1000)),
        [this](const monitor::ModelVersion& production) {
          if (context.logger) context.logger->info("registry: version {} is production; reloading", production.version);
          return load([&] { return source_of(options.registry, production); }).ok;
        },
        [this](const std::string& message) {
          if (context.logger) context.logger->warn("registry: {}; still serving what is loaded", message);
        });
  }

  // Last member: destroyed first, so a reload it runs never meets a half-destroyed server.
  std::unique_ptr<RegistryWatcher> registry_watcher;
};

Server::Server(const ServeOptions& options, const Context& context) : impl_(std::make_unique<Impl>(options, context)) {
  validate(options);
  auto& http = impl_->http;
  const auto threads = static_cast<std::size_t>(options.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_tcp_nodelay(true);  // small JSON answers must not wait for Nagle
  http.set_payload_max_length(static_cast<std::size_t>(options.max_body_bytes()));
  http.set_read_timeout(options.read_timeout_s, 0);
  http.set_write_timeout(options.write_timeout_s, 0);
  http.set_keep_alive_timeout(options.keep_alive_timeout_s);
  // httplib closes a keep-alive connection after 5 requests by default; reconnecting costs more
  // than the request under load. 100 still lets connections rotate over the thread pool.
  http.set_keep_alive_max_count(100);
  // Opens the prediction log now: a bad path fails at startup, not at the first request.
  impl_->model_monitor = std::make_unique<ModelMonitor>(options, impl_->metrics, context);
  impl_->add_routes();
  impl_->add_error_handler();
}

Server::~Server() {
  impl_->signals.reset();
  impl_->registry_watcher.reset();
  if (impl_->started) {
    stop();
    wait();
  }
}

int Server::start() {
  FACEAGE_CHECK(!impl_->started, ErrorCode::kInternal, "Server::start() called twice");
  auto& http = impl_->http;
  const auto& o = impl_->options;
  if (o.port == 0) {
    port_ = http.bind_to_any_port(o.host);
    FACEAGE_CHECK(port_ > 0, ErrorCode::kIo, "cannot bind " << o.host << " to any port");
  } else {
    FACEAGE_CHECK(http.bind_to_port(o.host, o.port), ErrorCode::kIo,
                  "cannot listen on " << o.host << ":" << o.port << " (in use, or not an address of this machine?)");
    port_ = o.port;
  }
  http.raise_backlog(1024);
  impl_->started = true;
  // The socket is listening once bound; connections queue until the accept loop runs.
  impl_->listen_thread = std::thread([this] {
    impl_->http.listen_after_bind();
    impl_->listen_done = true;
  });
  if (impl_->context.logger) impl_->context.logger->info("listening on http://{}:{}", o.host, port_);
  return port_;
}

void Server::load_models() {
  const auto& registry = impl_->options.registry;
  if (!registry.empty()) {
    const auto production = production_version(registry);  // kNotFound with a hint
    auto result = impl_->load([&] { return source_of(registry, production); });
    if (!result.ok) throw Error(result.error_code, "cannot load production version " + std::to_string(production.version) + " of " + registry + ": " + result.error);
    impl_->watch_registry(production.version);
    return;
  }
  auto result = impl_->load([this] {
    ModelSource source;
    source.paths = impl_->options.model_paths;
    return source;
  });
  if (!result.ok) throw Error(ErrorCode::kModel, "cannot load the model: " + result.error);
}

ReloadResult Server::reload(const std::vector<std::string>& paths) { return impl_->reload(paths); }

bool Server::ready() const { return impl_->current_model() != nullptr; }

void Server::handle_signals() {
  impl_->signals = std::make_unique<SignalWatcher>(std::vector<int>{SIGTERM, SIGINT, SIGHUP}, [this](int signal_number) {
    if (signal_number == SIGHUP) {
      if (impl_->context.logger) impl_->context.logger->info("SIGHUP: reloading the model");
      impl_->reload({});
    } else {
      if (impl_->context.logger) impl_->context.logger->info("signal {}: draining and stopping", signal_number);
      stop();
    }
  });
}

void Server::stop() {
  if (!impl_->started) return;
  // httplib ignores stop() until its accept loop runs; wait for that (a few ms at most).
  while (!impl_->http.is_running() && !impl_->listen_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

void Server::wait() {
  if (impl_->listen_thread.joinable()) impl_->listen_thread.join();
}

bool Server::running() const { return impl_->http.is_running(); }

MetricsRegistry& Server::metrics() { return impl_->metrics; }

std::shared_ptr<ServedModel> Server::model() const { return impl_->current_model(); }

}  // namespace faceage::serve
