#include "faceage/serve/access_log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "faceage/core/check.hpp"

namespace faceage::serve {

namespace {
std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}
}  // namespace

AccessLog::AccessLog(const std::string& destination) {
  if (destination.empty()) return;
  if (destination == "-") {
    file_ = stderr;
    return;
  }
  file_ = std::fopen(destination.c_str(), "a");
  FACEAGE_CHECK(file_ != nullptr, ErrorCode::kIo,
                "cannot open access log '" << destination << "': " << std::strerror(errno));
  owned_ = true;
}

AccessLog::~AccessLog() {
  if (owned_ && file_) std::fclose(file_);
}

std::string AccessLog::format(const AccessRecord& r) {
  nlohmann::json line = {{"time", utc_now_iso8601()},
                         {"request_id", r.request_id},
                         {"method", r.method},
                         {"path", r.path},
                         {"status", r.status},
                         {"latency_ms", std::round(r.latency_ms * 1000.0) / 1000.0},
                         {"bytes_in", r.bytes_in},
                         {"bytes", r.bytes_out},
                         {"remote", r.remote}};
  if (r.faces >= 0) line["faces"] = r.faces;
  // Replace invalid UTF-8 in client-supplied paths instead of throwing.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AccessLog::write(const AccessRecord& record) {
  if (!file_) return;
  std::string line = format(record);
  line += '\n';
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace faceage::serve
