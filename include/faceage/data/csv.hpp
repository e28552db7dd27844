#pragma once
// A small RFC 4180 CSV reader/writer shared by manifests, predictions and evaluation.
//  - Fields may be quoted; quotes inside quoted fields are doubled; quoted fields may hold commas
//    and newlines. A UTF-8 BOM and CRLF line ends are accepted on input; output uses LF.
//  - Blank lines are skipped. Every row must have as many fields as the header (kInvalidArgument
//    naming the source and line otherwise).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace faceage::data {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> row_lines;  // 1-based line where each row starts (for error messages)

  // Index of a header column, or -1 when absent (exact, case-sensitive match).
  int column(const std::string& name) const;
};

struct CsvParseOptions {
  // Accept rows with fewer or more fields than the header (third-party files such as another
  // system's predictions); the reader of the table then treats missing fields as empty.
  bool ragged_rows = false;
};

// Parses CSV text whose first record is the header. `source` names it in errors.
CsvTable parse_csv(std::string_view text, const std::string& source = "<csv>", const CsvParseOptions& options = {});
// Reads and parses a file: kNotFound when missing.
CsvTable read_csv(const std::string& path);

// A field quoted only when needed (comma, quote, CR/LF, or leading/trailing space).
std::string csv_escape(std::string_view field);
// One record: escaped fields joined by commas, ending in "\n".
std::string csv_line(const std::vector<std::string>& fields);

// Accumulates a CSV in memory and saves it atomically (temp file + rename).
class CsvWriter {
 public:
  explicit CsvWriter(const std::vector<std::string>& header);
  // A row must have as many fields as the header (kInternal otherwise: a caller bug).
  void add_row(const std::vector<std::string>& fields);
  const std::string& text() const { return text_; }
  std::size_t rows() const { return rows_; }
  void save(const std::string& path) const;

 private:
  std::size_t columns_;
  std::size_t rows_ = 0;
  std::string text_;
};

}  // namespace faceage::data
