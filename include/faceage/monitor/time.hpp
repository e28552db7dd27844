#pragma once
// Times in the monitor are unix seconds (double, UTC). Users name them in ISO 8601.
#include <optional>
#include <string>

namespace faceage::monitor {

double unix_now();
// "2026-12-04T14:00:00Z", "2026-12-04T14:00:00.250+01:00", "2026-12-04T14:00Z", "2026-12-04"
// (midnight UTC); a space may stand for the T. kInvalidArgument for anything else, naming the text.
double parse_iso8601(const std::string& text);
// "2026-12-04T14:00:00.250Z" (milliseconds; always UTC).
std::string format_iso8601(double unix_seconds);

// A closed time window; an absent end is open.
struct TimeWindow {
  std::optional<double> since, until;
  bool contains(double t) const { return (!since || t >= *since) && (!until || t <= *until); }
};

}  // namespace faceage::monitor
