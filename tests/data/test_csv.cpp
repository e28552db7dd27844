#include "faceage/data/csv.hpp"

#include <gtest/gtest.h>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::data {
namespace {

TEST(Csv, ParsesQuotedFieldsWithCommasQuotesAndNewlines) {
  const std::string text =
      "\xEF\xBB\xBF"
      "file,age,note\r\n"
      "\"a,b.jpg\",3,\"he said \"\"hi\"\"\"\r\n"
      "\n"
      "plain.jpg,,\"two\nlines\"\n"
      "last.jpg,7,x";
  CsvTable t = parse_csv(text, "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"file", "age", "note"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"a,b.jpg", "3", "he said \"hi\""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"plain.jpg", "", "two\nlines"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"last.jpg", "7", "x"}));
  EXPECT_EQ(t.row_lines, (std::vector<int>{2, 4, 6}));
  EXPECT_EQ(t.column("age"), 1);
  EXPECT_EQ(t.column("missing"), -1);
}

TEST(Csv, WrongFieldCountNamesTheLine) {
  try {
    parse_csv("a,b\n1,2\n1,2,3\n", "x.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("x.csv line 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_csv("a,b\n\"open,2\n", "x.csv"), Error);
  EXPECT_THROW(parse_csv("a,b\nx\"y\",2\n", "x.csv"), Error);
  EXPECT_THROW(parse_csv("", "x.csv"), Error);
}

TEST(Csv, EscapeQuotesOnlyWhenNeeded) {
  EXPECT_EQ(csv_escape("plain"), "plain");
  EXPECT_EQ(csv_escape("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_escape("say \"x\""), "\"say \"\"x\"\"\"");
  EXPECT_EQ(csv_escape("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_escape(" padded"), "\" padded\"");
  EXPECT_EQ(csv_escape(""), "");
  EXPECT_EQ(csv_line({"a", "b,c", ""}), "a,\"b,c\",\n");
}

TEST(Csv, WriterRoundTripsThroughTheParser) {
  testing::TempDir dir;
  const std::vector<std::vector<std::string>> rows{
      {"x,y.jpg", "1", "\"quoted\""}, {"", "", ""}, {"new\nline", " lead", "trail "}};
  CsvWriter writer({"a", "b", "c"});
  for (const auto& r : rows) writer.add_row(r);
  EXPECT_EQ(writer.rows(), 3u);
  EXPECT_THROW(writer.add_row({"too", "few"}), Error);
  writer.save(dir.file("out.csv"));
  CsvTable t = read_csv(dir.file("out.csv"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.rows, rows);
}

TEST(Csv, MissingFileIsNotFound) {
  try {
    read_csv("/nonexistent/file.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace faceage::data
