#include "faceage/data/csv.hpp"

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::data {

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvParseOptions& options) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable table;
  std::vector<std::string> record;
  std::string field;
  int line = 1;
  int record_line = 1;
  bool in_quotes = false;
  bool field_was_quoted = false;
  bool record_has_content = false;

  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    // Blank lines (a single empty unquoted field) are skipped.
    if (record_has_content) {
      if (table.header.empty()) {
        table.header = std::move(record);
      } else {
        if (!options.ragged_rows && record.size() != table.header.size()) {
          throw Error(ErrorCode::kInvalidArgument,
                      source + " line " + std::to_string(record_line) + ": " + std::to_string(record.size()) +
                          " fields where the header has " + std::to_string(table.header.size()),
                      "quote fields that contain commas: \"a,b\"");
        }
        table.rows.push_back(std::move(record));
        table.row_lines.push_back(record_line);
      }
    }
    record.clear();
    record_has_content = false;
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty() || field_was_quoted) {
          throw Error(ErrorCode::kInvalidArgument,
                      source + " line " + std::to_string(line) + ": a quote inside an unquoted field",
                      "quote the whole field and double inner quotes: \"say \"\"hi\"\"\"");
        }
        in_quotes = true;
        field_was_quoted = true;
        record_has_content = true;
        break;
      case ',':
        end_field();
        record_has_content = true;
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') break;  // CRLF: the LF ends the record
        [[fallthrough]];
      case '\n':
        end_record();
        ++line;
        record_line = line;
        break;
      default:
        if (field_was_quoted) {
          throw Error(ErrorCode::kInvalidArgument,
                      source + " line " + std::to_string(line) + ": text after a closing quote");
        }
        field.push_back(c);
        record_has_content = true;
    }
  }
  if (in_quotes) {
    throw Error(ErrorCode::kInvalidArgument,
                source + " line " + std::to_string(record_line) + ": a quoted field is never closed");
  }
  end_record();
  if (table.header.empty()) throw Error(ErrorCode::kInvalidArgument, source + ": empty CSV (no header line)");
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file_text(path), path); }

std::string csv_escape(std::string_view field) {
  bool needs = !field.empty() && (field.front() == ' ' || field.back() == ' ');
  for (char c : field) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      needs = true;
      break;
    }
  }
  if (!needs) return std::string(field);
  std::string out;
  out.reserve(field.size() + 2);
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_escape(fields[i]);
  }
  out.push_back('\n');
  return out;
}

CsvWriter::CsvWriter(const std::vector<std::string>& header) : columns_(header.size()), text_(csv_line(header)) {}

void CsvWriter::add_row(const std::vector<std::string>& fields) {
  if (fields.size() != columns_) {
    throw Error(ErrorCode::kInternal, "CSV row with " + std::to_string(fields.size()) + " fields for " +
                                          std::to_string(columns_) + " columns");
  }
  text_ += csv_line(fields);
  ++rows_;
}

void CsvWriter::save(const std::string& path) const { write_file_atomic(path, text_); }

}  // namespace faceage::data
