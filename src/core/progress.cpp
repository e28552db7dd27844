#include "faceage/core/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace faceage {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long total = static_cast<long>(seconds + 0.5);
  long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buffer[32];
  if (h > 0) {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld:%02ld", h, m, s);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld", m, s);
  }
  return buffer;
}

ProgressBar::ProgressBar(ProgressOptions options) : options_(std::move(options)) {
  enabled_ = options_.force == 1 || (options_.force == -1 && isatty(STDERR_FILENO));
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

double ProgressBar::rate() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? done_ / elapsed : 0.0;
}

std::string ProgressBar::render(std::int64_t done, double elapsed_s, const std::string& extra) const {
  std::ostringstream os;
  if (!options_.label.empty()) os << options_.label << ' ';
  double rate = elapsed_s > 0 ? done / elapsed_s : 0.0;
  char rate_text[32];
  std::snprintf(rate_text, sizeof(rate_text), "%.1f", rate);
  if (options_.total > 0) {
    constexpr int kWidth = 24;
    double fraction = std::min(1.0, static_cast<double>(done) / options_.total);
    int filled = static_cast<int>(fraction * kWidth);
    os << '[';
    for (int i = 0; i < kWidth; ++i) os << (i < filled ? '=' : (i == filled ? '>' : ' '));
    os << "] " << done << '/' << options_.total << ' ' << static_cast<int>(fraction * 100) << "% " << rate_text
       << ' ' << options_.unit << "/s";
    if (rate > 0 && done < options_.total) os << " ETA " << format_duration((options_.total - done) / rate);
  } else {
    os << done << ' ' << options_.unit << ' ' << rate_text << ' ' << options_.unit << "/s";
  }
  if (!extra.empty()) os << ' ' << extra;
  return os.str();
}

void ProgressBar::update(std::int64_t done, const std::string& extra) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  bool last = options_.total > 0 && done >= options_.total;
  if (!last && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = render(done, elapsed, extra);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish(const std::string& extra) {
  if (!enabled_) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r%s\033[K\n", render(done_, elapsed, extra).c_str());
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace faceage
