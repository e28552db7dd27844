#pragma once
// Minimal RFC 4180 reading and writing for the eval module's CSVs (private to src/eval).
// Kept here rather than shared so eval reads third-party predictions files without depending on
// the data module's manifest schema.
#include <cstdint>
#include <string>
#include <vector>

namespace faceage::eval {

class CsvReader {
 public:
  explicit CsvReader(const std::string& text) : text_(text) {
    // Skip a UTF-8 byte order mark (spreadsheet exports).
    if (text_.size() >= 3 && text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
  }
  // Reads the next record into fields; false at end of input. Quoted fields may hold commas,
  // doubled quotes and newlines; CRLF and LF both end a record.
  bool next(std::vector<std::string>& fields) {
    fields.clear();
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    std::string field;
    bool quoted = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field += '"';
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
        ++line_;
        break;
      } else {
        field += c;
      }
    }
    fields.push_back(std::move(field));
    return true;
  }
  // 1-based line on which the last record started.
  std::int64_t record_line() const { return record_line_; }

 private:
  const std::string& text_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
  std::int64_t record_line_ = 0;
};

// Quotes a field when it holds a comma, quote or newline.
inline std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace faceage::eval
