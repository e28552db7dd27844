#include "faceage/core/context.hpp"

#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"

namespace faceage {

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  auto parsed = spdlog::level::from_str(level);
  FACEAGE_CHECK(parsed != spdlog::level::off || level == "off", ErrorCode::kInvalidArgument,
                "unknown log level '" << level << "'; available: trace, debug, info, warn, error, off");
  logger->set_level(parsed);
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  return logger;
}

Context Context::make(const ContextOptions& options) {
  Context ctx;
  FACEAGE_CHECK(options.device == "cpu" || options.device.rfind("cuda", 0) == 0, ErrorCode::kInvalidArgument,
                "unknown device '" << options.device << "'; available: cpu, cuda, cuda:N");
  FACEAGE_CHECK(options.threads >= 0, ErrorCode::kInvalidArgument, "threads must be >= 0, got " << options.threads);
  ctx.device = options.device;
  ctx.threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  ctx.seed = options.seed;
  ctx.logger = make_logger("faceage", options.log_to_stderr ? options.log_level : "off");
  return ctx;
}

}  // namespace faceage
