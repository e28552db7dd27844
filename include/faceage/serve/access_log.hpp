#pragma once
// Structured access log: one JSON object per line
//   {"time":"2024-05-01T12:00:00.123Z","request_id":"...","method":"POST","path":"/v1/predict",
//    "status":200,"latency_ms":12.3,"bytes_in":1234,"bytes":456,"faces":1,"remote":"127.0.0.1"}
// to a file (appended), to stderr ("-") or nowhere (""). Thread-safe; each line is written whole.
#include <cstdio>
#include <mutex>
#include <string>

namespace faceage::serve {

struct AccessRecord {
  std::string request_id, method, path, remote;
  int status = 0;
  double latency_ms = 0;
  std::size_t bytes_in = 0, bytes_out = 0;
  int faces = -1;  // -1: not a prediction route (omitted)
};

class AccessLog {
 public:
  explicit AccessLog(const std::string& destination);  // kIo when the file cannot be opened
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  void write(const AccessRecord& record);
  bool enabled() const { return file_ != nullptr; }
  static std::string format(const AccessRecord& record);  // one line, no newline

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

}  // namespace faceage::serve
