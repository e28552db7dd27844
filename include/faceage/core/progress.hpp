#pragma once
// A one-line progress bar on stderr: "label [=====>    ] 120/400 30% 45.1 it/s ETA 0:06 extra".
// Draws only when stderr is a terminal (or when forced), at most ~10 times a second.
#include <chrono>
#include <cstdint>
#include <string>

namespace faceage {

struct ProgressOptions {
  std::string label;
  std::int64_t total = 0;   // 0: unknown total, shows count and rate only
  int force = -1;           // -1: auto (isatty), 0: never, 1: always
  std::string unit = "it";
};

class ProgressBar {
 public:
  explicit ProgressBar(ProgressOptions options);
  ~ProgressBar();  // finishes the line if anything was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::int64_t done, const std::string& extra = {});
  void advance(std::int64_t by = 1, const std::string& extra = {}) { update(done_ + by, extra); }
  void finish(const std::string& extra = {});
  bool enabled() const { return enabled_; }
  double rate() const;  // items per second so far

  // Renders the bar text without drawing (tested directly).
  std::string render(std::int64_t done, double elapsed_s, const std::string& extra) const;

 private:
  ProgressOptions options_;
  bool enabled_ = false;
  bool drawn_ = false;
  std::int64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1:02:03" / "4:05" for a duration in seconds.
std::string format_duration(double seconds);

}  // namespace faceage
