// The worst-predictions grid, composed with OpenCV (thumbnails are images, not plot marks).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/data/image_io.hpp"
#include "faceage/eval/plots.hpp"

namespace faceage::eval {
namespace {

std::string resolve(const std::string& root, const std::string& file) {
  const std::filesystem::path f(file);
  if (f.is_absolute() || root.empty()) return f.string();
  return (std::filesystem::path(root) / f).string();
}

// Letterboxes `image` into a side x side tile on a light grey background.
cv::Mat thumbnail(const cv::Mat& image, int side) {
  cv::Mat tile(side, side, CV_8UC3, cv::Scalar(238, 238, 238));
  const double scale = std::min(static_cast<double>(side) / image.cols, static_cast<double>(side) / image.rows);
  const int w = std::max(1, static_cast<int>(std::lround(image.cols * scale)));
  const int h = std::max(1, static_cast<int>(std::lround(image.rows * scale)));
  cv::Mat resized;
  cv::resize(image, resized, cv::Size(w, h), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  resized.copyTo(tile(cv::Rect((side - w) / 2, (side - h) / 2, w, h)));
  return tile;
}

}  // namespace

WorstGridResult write_worst_grid(const std::vector<EvalRecord>& records, const std::string& png,
                                 const WorstGridOptions& options) {
  FACEAGE_CHECK(options.count > 0 && options.columns > 0, ErrorCode::kInvalidArgument,
                "worst grid: count and columns must be positive (got " << options.count << ", " << options.columns
                                                                      << ")");
  FACEAGE_CHECK(options.thumb >= 32 && options.thumb <= 1024, ErrorCode::kInvalidArgument,
                "worst grid: thumb must be in [32, 1024] (got " << options.thumb << ")");
  std::vector<size_t> order;
  for (size_t i = 0; i < records.size(); ++i) {
    if (std::isfinite(records[i].true_age) && std::isfinite(records[i].pred_age)) order.push_back(i);
  }
  auto abs_err = [&](size_t i) { return std::abs(records[i].pred_age - records[i].true_age); };
  const size_t attempts = std::min(
      order.size(), static_cast<size_t>(options.max_attempts > 0 ? options.max_attempts : 4 * options.count));
  // Only the first `attempts` largest errors are needed: partial sort, not a full sort.
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(attempts), order.end(),
                    [&](size_t a, size_t b) { return abs_err(a) > abs_err(b); });

  WorstGridResult result;
  std::vector<cv::Mat> tiles;
  const int side = options.thumb;
  const int caption_h = std::max(34, side / 4);
  for (size_t k = 0; k < attempts && static_cast<int>(tiles.size()) < options.count; ++k) {
    const EvalRecord& r = records[order[k]];
    // Our decoder, not cv::imread: a missing or corrupt image is one reason of ours in the
    // report's warnings, not a line of OpenCV's own on stderr.
    cv::Mat image;
    try {
      cv::cvtColor(data::read_image(resolve(options.image_root, r.file)).rgb, image, cv::COLOR_RGB2BGR);
    } catch (const std::exception& e) {
      if (result.first_unreadable.empty()) result.first_unreadable = e.what();
      ++result.skipped;
      continue;
    }
    cv::Mat tile(side + caption_h, side, CV_8UC3, cv::Scalar(255, 255, 255));
    thumbnail(image, side).copyTo(tile(cv::Rect(0, 0, side, side)));
    char line1[64], line2[64];
    std::snprintf(line1, sizeof line1, "true %.0f / pred %.0f", r.true_age, r.pred_age);
    std::snprintf(line2, sizeof line2, "err %+.1f", r.pred_age - r.true_age);
    // The largest font (up to a size-based cap) at which both lines fit the tile width.
    double font = side / 320.0 + 0.1;
    for (const char* text : {line1, line2}) {
      int base = 0;
      while (font > 0.25 && cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font, 1, &base).width > side - 8) font -= 0.02;
    }
    const int baseline1 = side + caption_h * 45 / 100;
    const int baseline2 = side + caption_h * 88 / 100;
    cv::putText(tile, line1, cv::Point(4, baseline1), cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(40, 40, 40), 1,
                cv::LINE_AA);
    cv::putText(tile, line2, cv::Point(4, baseline2), cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(40, 39, 214), 1,
                cv::LINE_AA);
    tiles.push_back(std::move(tile));
    result.files.push_back(r.file);
  }
  result.drawn = static_cast<int>(tiles.size());
  if (tiles.empty()) return result;

  const int gap = 6;
  const int cols = std::min(options.columns, result.drawn);
  const int rows = (result.drawn + cols - 1) / cols;
  const int tw = side, th = side + caption_h;
  cv::Mat canvas(rows * (th + gap) + gap, cols * (tw + gap) + gap, CV_8UC3, cv::Scalar(250, 250, 250));
  for (int i = 0; i < result.drawn; ++i) {
    const int x = gap + (i % cols) * (tw + gap), y = gap + (i / cols) * (th + gap);
    tiles[static_cast<size_t>(i)].copyTo(canvas(cv::Rect(x, y, tw, th)));
    cv::rectangle(canvas, cv::Rect(x - 1, y - 1, tw + 2, th + 2), cv::Scalar(210, 210, 210), 1);
  }
  std::vector<std::uint8_t> bytes;
  FACEAGE_CHECK(cv::imencode(".png", canvas, bytes), ErrorCode::kIo, "could not encode " << png);
  write_file_atomic(png, bytes);
  return result;
}

}  // namespace faceage::eval
