#include "faceage/eval/report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>

#include "eval/synthetic.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::eval {
namespace {

TEST(Report, WritesEveryFileAndEachPngDecodes) {
  testing::TempDir dir;
  const auto records = fixtures::synthetic_records(2000, /*images=*/8);
  // Half of the images exist; the rest are skipped in the worst grid.
  std::filesystem::create_directories(dir.path() / "data/img");
  for (int i = 0; i < 4; ++i) {
    cv::imwrite(dir.file("data/img/" + std::to_string(i) + ".png"),
                cv::Mat(80, 64, CV_8UC3, cv::Scalar(40 * i, 100, 200)));
  }
  write_file_atomic(dir.file("metrics.jsonl"),
                    std::string("{\"epoch\":1,\"train_loss\":2.0,\"val_mae\":9.0}\n"
                                "{\"epoch\":2,\"train_loss\":1.2,\"val_mae\":7.5}\n"));
  ReportOptions o;
  o.image_root = dir.file("data");
  o.training_log = dir.file("metrics.jsonl");
  o.worst_count = 12;
  o.source = {{"predictions", "pred.csv"}, {"match", {{"failed_files", 3}}}};
  const ReportResult r = write_report(compute_metrics(records), records, o, dir.file("report"));
  // The missing thumbnails are one warning line of ours.
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("unreadable image(s) skipped (first: "), std::string::npos) << r.warnings[0];
  for (const char* f : {"scatter.png", "band_errors.png", "confusion.png", "training_curves.png", "reliability.png"}) {
    const cv::Mat img = cv::imread(dir.file(std::string("report/") + f));
    ASSERT_FALSE(img.empty()) << f;
    EXPECT_EQ(img.cols, 900) << f;
    EXPECT_EQ(img.rows, 700) << f;
  }
  const cv::Mat worst = cv::imread(dir.file("report/worst.png"));
  ASSERT_FALSE(worst.empty());
  EXPECT_EQ(worst.cols, 6 * 140 + 7 * 6);  // 12 thumbnails in 6 columns of 140 px
  EXPECT_EQ(worst.rows, 2 * (140 + 35) + 3 * 6);

  const nlohmann::json j = nlohmann::json::parse(read_file_text(dir.file("report/metrics.json")));
  EXPECT_EQ(j["age"]["count"], 2000);
  EXPECT_EQ(j["source"]["match"]["failed_files"], 3);
  const std::string csv = read_file_text(dir.file("report/predictions.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2001);
  EXPECT_EQ(csv.rfind("file,true_age,pred_age,error,abs_error", 0), 0u);
  const std::string html = read_file_text(dir.file("report/index.html"));
  for (const char* f : {"scatter.png", "band_errors.png", "confusion.png", "training_curves.png", "reliability.png",
                        "worst.png", "metrics.json"}) {
    EXPECT_NE(html.find(f), std::string::npos) << f;
  }
  EXPECT_EQ(html.find("http://"), std::string::npos);  // self-contained
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(Report, MissingPiecesBecomeWarnings) {
  testing::TempDir dir;
  std::vector<EvalRecord> records(3);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].file = "x" + std::to_string(i) + ".jpg";
    records[i].true_age = 20.0 + static_cast<double>(i);
    records[i].pred_age = 25;
  }
  ReportOptions o;
  o.training_log = dir.file("missing.jsonl");
  o.image_root = dir.path().string();
  const ReportResult r = write_report(compute_metrics(records), records, o, dir.file("r"));
  ASSERT_EQ(r.warnings.size(), 2u);  // training log, worst grid; no gender probabilities: no reliability plot
  EXPECT_NE(r.warnings[0].find("missing.jsonl"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir.file("r/index.html")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("r/reliability.png")));
  EXPECT_NE(read_file_text(dir.file("r/index.html")).find("Warnings"), std::string::npos);
}

TEST(Report, RecordsCsvQuotesAndLeavesUnknownsEmpty) {
  EvalRecord r;
  r.file = "a,b.jpg";
  r.true_age = 30;
  r.pred_age = 27.5;
  const std::string csv = records_csv({r});
  EXPECT_NE(csv.find("\"a,b.jpg\",30,27.5,-2.5,2.5,,,,,,,,,30-39,18-29\n"), std::string::npos) << csv;
}

}  // namespace
}  // namespace faceage::eval
