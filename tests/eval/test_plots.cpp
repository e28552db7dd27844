#include "faceage/eval/plots.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "eval/synthetic.hpp"
#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::eval {
namespace {

void expect_png(const std::string& path, int width, int height) {
  const cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty()) << path;
  EXPECT_EQ(img.cols, width) << path;
  EXPECT_EQ(img.rows, height) << path;
  // Something was drawn: not a blank page.
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  double lo = 0, hi = 0;
  cv::minMaxLoc(grey, &lo, &hi);
  EXPECT_LT(lo, 128) << path;
}

TEST(Plots, TrainingLogParsing) {
  const TrainingLog log = parse_training_log(
      "{\"epoch\": 1, \"train_loss\": 2.5, \"val_mae\": 9.1, \"lr\": 0.001, \"note\": \"x\"}\n"
      "not json\n"
      "\n"
      "{\"epoch\": 2, \"train_loss\": 1.5, \"val_loss\": 1.7, \"lr\": 0.0005}\n");
  EXPECT_EQ(log.x_key, "epoch");
  EXPECT_EQ(log.lines, 3);
  EXPECT_EQ(log.bad_lines, 1);
  ASSERT_EQ(log.series.size(), 4u);  // train_loss, val_mae, lr, val_loss; "note" is not a number
  EXPECT_EQ(log.series[0].name, "train_loss");
  EXPECT_EQ(log.series[0].x, (std::vector<double>{1, 2}));
  EXPECT_EQ(log.series[0].y, (std::vector<double>{2.5, 1.5}));
  EXPECT_EQ(log.series[3].name, "val_loss");
  EXPECT_EQ(log.series[3].x, (std::vector<double>{2}));
  EXPECT_EQ(parse_training_log("{\"loss\": 1}\n{\"loss\": 0.5}\n").x_key, "line");
}

TEST(Plots, EachPlotWritesAPngOfTheRequestedSize) {
  testing::TempDir dir;
  const auto records = fixtures::synthetic_records(3000);
  const EvalMetrics m = compute_metrics(records);
  PlotOptions o;
  plot_age_scatter(records, dir.file("scatter.png"), o);
  plot_band_errors(m, dir.file("bands.png"), o);
  plot_confusion(m, dir.file("confusion.png"), o);
  plot_reliability(m, dir.file("reliability.png"), o);
  std::string log;
  for (int e = 1; e <= 20; ++e) {
    log += "{\"epoch\":" + std::to_string(e) + ",\"train_loss\":" + std::to_string(3.0 / e) +
           ",\"val_loss\":" + std::to_string(3.2 / e + 0.1) + ",\"val_mae\":" + std::to_string(4 + 10.0 / e) +
           ",\"gender_acc\":" + std::to_string(0.98 - 0.3 / e) + ",\"lr\":" + std::to_string(0.001 * std::pow(0.7, e)) +
           "}\n";
  }
  plot_training_curves(parse_training_log(log), dir.file("curves.png"), o);
  for (const char* f : {"scatter.png", "bands.png", "confusion.png", "reliability.png", "curves.png"}) {
    expect_png(dir.file(f), 900, 700);
  }
  PlotOptions small;
  small.width = 640;
  small.height = 480;
  plot_confusion(m, dir.file("small.png"), small);
  expect_png(dir.file("small.png"), 640, 480);
  // No temp files left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().extension(), ".png") << e.path();
    ++entries;
  }
  EXPECT_EQ(entries, 6);
}

TEST(Plots, BadInputIsAnErrorNotAnExit) {
  testing::TempDir dir;
  const EvalMetrics empty = compute_metrics({});
  EXPECT_THROW(plot_training_curves(TrainingLog{}, dir.file("c.png")), Error);
  EXPECT_THROW(plot_reliability(empty, dir.file("r.png")), Error);
  PlotOptions tiny;
  tiny.width = 10;
  EXPECT_THROW(plot_confusion(empty, dir.file("x.png"), tiny), Error);
  // PLplot would exit the process on an unopenable file; the figure checks first.
  try {
    plot_confusion(empty, "/proc/faceage-no-such-dir/x.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  // Plotting still works afterwards (no PLplot state left behind).
  plot_confusion(empty, dir.file("after.png"));
  expect_png(dir.file("after.png"), 900, 700);
}

TEST(Plots, WorstGridSkipsUnreadableImages) {
  testing::TempDir dir;
  std::vector<EvalRecord> records(5);
  for (int i = 0; i < 5; ++i) {
    records[static_cast<size_t>(i)].file = "faces/" + std::to_string(i) + ".png";
    records[static_cast<size_t>(i)].true_age = 30;
    records[static_cast<size_t>(i)].pred_age = 30 + i * 5;  // largest error: i = 4
  }
  std::filesystem::create_directories(dir.path() / "faces");
  cv::imwrite(dir.file("faces/4.png"), cv::Mat(60, 40, CV_8UC3, cv::Scalar(0, 0, 255)));
  cv::imwrite(dir.file("faces/2.png"), cv::Mat(50, 80, CV_8UC3, cv::Scalar(0, 255, 0)));
  {
    std::FILE* f = std::fopen(dir.file("faces/3.png").c_str(), "wb");  // corrupt
    std::fputs("not a png", f);
    std::fclose(f);
  }
  WorstGridOptions o;
  o.count = 3;
  o.thumb = 100;
  o.image_root = dir.path().string();
  const WorstGridResult r = write_worst_grid(records, dir.file("worst.png"), o);
  EXPECT_EQ(r.drawn, 2);    // 4 and 2 (1 and 0 are missing but were tried: attempts = 12 > 5)
  EXPECT_EQ(r.skipped, 3);  // 3 corrupt, 1 and 0 missing
  EXPECT_EQ(r.files, (std::vector<std::string>{"faces/4.png", "faces/2.png"}));
  // Why, in our words (not OpenCV's on stderr): the first one tried after 4 is the corrupt 3.
  EXPECT_NE(r.first_unreadable.find("faces/3.png"), std::string::npos) << r.first_unreadable;
  // 2 columns of 100 px + 3 gaps of 6; one row of 100 + caption 34 + 2 gaps.
  expect_png(dir.file("worst.png"), 2 * 100 + 3 * 6, 100 + 34 + 2 * 6);

  o.image_root = dir.file("nowhere");
  const WorstGridResult none = write_worst_grid(records, dir.file("none.png"), o);
  EXPECT_EQ(none.drawn, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.png")));
}

}  // namespace
}  // namespace faceage::eval
