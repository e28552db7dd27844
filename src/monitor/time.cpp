#include "faceage/monitor/time.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "faceage/core/error.hpp"

namespace faceage::monitor {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil), so
// parsing does not depend on the process's time zone as mktime would.
long long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - static_cast<int>(era * 400);
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

[[noreturn]] void bad_time(const std::string& text) {
  throw Error(ErrorCode::kInvalidArgument, "'" + text + "' is not an ISO 8601 time",
              "write it as 2026-12-04T14:00:00Z (or with an offset such as +01:00)");
}

// Reads exactly `width` digits at text[pos].
bool digits(const std::string& text, std::size_t& pos, int width, int& value) {
  if (pos + static_cast<std::size_t>(width) > text.size()) return false;
  value = 0;
  for (int i = 0; i < width; ++i) {
    const char c = text[pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(width);
  return true;
}

bool expect(const std::string& text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double parse_iso8601(const std::string& text) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  double fraction = 0.0;
  if (!digits(text, pos, 4, year) || !expect(text, pos, '-') || !digits(text, pos, 2, month) ||
      !expect(text, pos, '-') || !digits(text, pos, 2, day))
    bad_time(text);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) bad_time(text);
  int offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') bad_time(text);
    ++pos;
    if (!digits(text, pos, 2, hour) || !expect(text, pos, ':') || !digits(text, pos, 2, minute)) bad_time(text);
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!digits(text, pos, 2, second)) bad_time(text);
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        double scale = 0.1;
        const std::size_t start = pos;
        for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10) fraction += (text[pos] - '0') * scale;
        if (pos == start) bad_time(text);
      }
    }
    if (hour > 23 || minute > 59 || second > 60) bad_time(text);
    // A time of day needs its zone: a bare local time would mean different instants on different hosts.
    if (pos >= text.size()) bad_time(text);
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      const int sign = text[pos] == '+' ? 1 : -1;
      ++pos;
      int oh = 0, om = 0;
      if (!digits(text, pos, 2, oh)) bad_time(text);
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!digits(text, pos, 2, om) || oh > 23 || om > 59) bad_time(text);
      offset_seconds = sign * (oh * 3600 + om * 60);
    } else {
      bad_time(text);
    }
    if (pos != text.size()) bad_time(text);
  }
  const long long seconds = days_from_civil(year, month, day) * 86400LL + hour * 3600LL + minute * 60LL + second;
  return static_cast<double>(seconds - offset_seconds) + fraction;
}

std::string format_iso8601(double unix_seconds) {
  const double floor_seconds = std::floor(unix_seconds);
  auto millis = static_cast<int>(std::lround((unix_seconds - floor_seconds) * 1000.0));
  auto whole = static_cast<std::time_t>(floor_seconds);
  if (millis == 1000) {
    millis = 0;
    ++whole;
  }
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

}  // namespace faceage::monitor
