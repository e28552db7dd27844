#pragma once
// The runtime context made once in main() and passed down: device, threads, seed, logger.
// No global mutable state: anything that needs these receives a Context.
#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace faceage {

struct ContextOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  int threads = 0;             // 0: all hardware threads
  std::uint64_t seed = 42;
  std::string log_level = "info";  // trace, debug, info, warn, error, off
  bool log_to_stderr = true;
};

struct Context {
  std::string device = "cpu";
  int threads = 1;
  std::uint64_t seed = 42;
  std::shared_ptr<spdlog::logger> logger;

  // Resolves threads (0 -> hardware concurrency) and makes a stderr logger. Does not touch
  // LibTorch or OpenCV global settings: models::configure_runtime(ctx) does that explicitly.
  static Context make(const ContextOptions& options = {});
  bool is_cuda() const { return device.rfind("cuda", 0) == 0; }
};

// A logger that writes to stderr at `level`, named `name`; not registered globally.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level);

}  // namespace faceage
