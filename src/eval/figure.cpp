#include "eval/figure.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"

namespace faceage::eval {
namespace {

// PLplot keeps every stream in process-global tables and a global "current stream"; one mutex
// serialises all eval plotting so concurrent callers cannot interleave on them.
std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

bool has_file_device(plstream& p, const char* name) {
  int ndev = 128;
  std::vector<const char*> menu(static_cast<size_t>(ndev)), devs(static_cast<size_t>(ndev));
  const char** menu_ptr = menu.data();
  const char** dev_ptr = devs.data();
  p.gFileDevs(&menu_ptr, &dev_ptr, &ndev);
  for (int i = 0; i < ndev; ++i) {
    if (dev_ptr[i] && std::string(dev_ptr[i]) == name) return true;
  }
  return false;
}

}  // namespace

Figure::Figure(const std::string& png, int width, int height)
    : lock_(plplot_mutex()), png_(png), width_(width), height_(height) {
  FACEAGE_CHECK(width >= 200 && height >= 150 && width <= 8000 && height <= 8000, ErrorCode::kInvalidArgument,
                "plot size " << width << "x" << height << " is out of range (200x150 .. 8000x8000)");
  const std::filesystem::path parent = std::filesystem::path(png).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  temp_ = temp_path_beside(png);
  // PLplot exits the process when it cannot open its output, so prove the path is writable first.
  if (std::FILE* f = std::fopen(temp_.c_str(), "wb")) {
    std::fclose(f);
  } else {
    throw Error(ErrorCode::kIo, "cannot write plot " + png, "check that the directory exists and is writable");
  }
  stream_ = std::make_unique<plstream>();
  plstream& p = *stream_;
  if (!has_file_device(p, "pngcairo")) {
    stream_.reset();
    std::filesystem::remove(temp_, ec);
    throw Error(ErrorCode::kNotFound, "PLplot has no 'pngcairo' device", "install plplot-driver-cairo");
  }
  p.sdev("pngcairo");
  p.sfnam(temp_.c_str());
  p.spage(0, 0, width, height, 0, 0);
  p.scolbg(255, 255, 255);
  p.scmap0n(16);
  p.init();
  p.scol0(kText, 45, 45, 45);
  p.scol0(kGrid, 222, 222, 222);
  p.scol0(kBlue, 31, 119, 180);
  p.scol0(kOrange, 255, 127, 14);
  p.scol0(kGreen, 44, 160, 44);
  p.scol0(kRed, 214, 39, 40);
  p.scol0(kPurple, 148, 103, 189);
  p.scol0(kGrey, 127, 127, 127);
  p.scol0(kBrown, 140, 86, 75);
  p.scol0(kPink, 227, 119, 194);
  p.scol0(kWhite, 255, 255, 255);
  p.scol0(kScratch, 0, 0, 0);
  // Character height scales with the page so fonts stay readable at any size.
  p.schr(0, 1.0);
  p.adv(0);
}

Figure::~Figure() {
  if (!finished_) {
    stream_.reset();
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void Figure::axes(double vx0, double vx1, double vy0, double vy1, const Axes& a) {
  plstream& p = *stream_;
  vx0_ = vx0, vx1_ = vx1, vy0_ = vy0, vy1_ = vy1;
  wx0_ = a.xmin, wx1_ = a.xmax, wy0_ = a.ymin, wy1_ = a.ymax;
  p.vpor(vx0, vx1, vy0, vy1);
  p.wind(a.xmin, a.xmax, a.ymin, a.ymax);
  const std::string ylog = a.log_y ? "l" : "";
  if (a.grid) {
    p.col0(kGrid);
    p.width(1);
    p.box(a.x_numbers ? "g" : "", 0, 0, ("g" + ylog).c_str(), 0, 0);
  }
  p.col0(kText);
  p.width(1);
  p.box(a.x_numbers ? "bcnst" : "bc", 0, 0, ((a.y_numbers ? "bcnstv" : "bc") + ylog).c_str(), 0, 0);
  p.schr(0, 1.05);
  if (!a.xlabel.empty()) p.mtex("b", 2.8, 0.5, 0.5, a.xlabel.c_str());
  const double ydisp = a.ylabel_disp > 0 ? a.ylabel_disp : a.log_y ? 4.3 : 3.6;
  if (!a.ylabel.empty()) p.mtex("l", ydisp, 0.5, 0.5, a.ylabel.c_str());
  if (!a.title.empty()) {
    p.schr(0, a.title_scale);
    p.mtex("t", 1.4, 0.5, 0.5, a.title.c_str());
  }
  p.schr(0, 1.0);
}

void Figure::rect(double x0, double y0, double x1, double y1) {
  const PLFLT x[4] = {x0, x1, x1, x0};
  const PLFLT y[4] = {y0, y0, y1, y1};
  stream_->fill(4, x, y);
}

void Figure::polyline(const std::vector<double>& x, const std::vector<double>& y, int colour, double width, int style) {
  if (x.size() < 2 || x.size() != y.size()) return;
  plstream& p = *stream_;
  p.col0(colour);
  p.width(width);
  p.lsty(style);
  p.line(static_cast<PLINT>(x.size()), x.data(), y.data());
  p.lsty(1);
  p.width(1);
}

std::pair<double, double> Figure::legend_size(const std::vector<LegendEntry>& entries) const {
  size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, e.label.size());
  // ~11.5 px per character at the legend's character size (DejaVu Sans via cairo), generous for wide glyphs.
  const double w = (22.0 + 26.0 + 11.5 * static_cast<double>(longest)) / viewport_px_x();
  const double h = (26.0 * static_cast<double>(entries.size()) + 10.0) / viewport_px_y();
  return {w, h};
}

std::pair<double, double> Figure::legend_origin(Corner corner, double w, double h) const {
  const double mx = 12.0 / viewport_px_x(), my = 12.0 / viewport_px_y();
  const bool right = corner == kTopRight || corner == kBottomRight;
  const bool top = corner == kTopLeft || corner == kTopRight;
  return {right ? 1.0 - mx - w : mx, top ? 1.0 - my : my + h};
}

Figure::Corner Figure::emptiest_corner(
    const std::vector<LegendEntry>& entries,
    const std::vector<std::pair<const std::vector<double>*, const std::vector<double>*>>& lines) const {
  const auto [w, h] = legend_size(entries);
  const Corner order[4] = {kTopRight, kTopLeft, kBottomRight, kBottomLeft};
  Corner best = kTopRight;
  long best_hits = -1;
  for (Corner c : order) {
    const auto [fx0, fy1] = legend_origin(c, w, h);
    long hits = 0;
    for (const auto& [xs, ys] : lines) {
      for (size_t i = 0; i + 1 < xs->size(); ++i) {
        // Sample each segment so a line crossing the box counts even between its vertices.
        for (int k = 0; k <= 16; ++k) {
          const double t = k / 16.0;
          const double fx = ((*xs)[i] + t * ((*xs)[i + 1] - (*xs)[i]) - wx0_) / (wx1_ - wx0_);
          const double fy = ((*ys)[i] + t * ((*ys)[i + 1] - (*ys)[i]) - wy0_) / (wy1_ - wy0_);
          hits += (fx >= fx0 && fx <= fx0 + w && fy <= fy1 && fy >= fy1 - h) ? 1 : 0;
        }
      }
    }
    if (best_hits < 0 || hits < best_hits) {
      best = c;
      best_hits = hits;
    }
  }
  return best;
}

void Figure::legend(const std::vector<LegendEntry>& entries, Corner corner) {
  if (entries.empty()) return;
  plstream& p = *stream_;
  const double xr = wx1_ - wx0_, yr = wy1_ - wy0_;
  // Sizes in viewport fractions, converted from pixels so the box looks the same on any plot.
  const double row = 26.0 / viewport_px_y();
  const double swatch = 22.0 / viewport_px_x();
  const auto [box_w, box_h] = legend_size(entries);
  const auto [fx0, fy1] = legend_origin(corner, box_w, box_h);
  auto X = [&](double f) { return wx0_ + f * xr; };
  auto Y = [&](double f) { return wy0_ + f * yr; };
  p.col0(kWhite);
  rect(X(fx0), Y(fy1 - box_h), X(fx0 + box_w), Y(fy1));
  p.col0(kGrid);
  const PLFLT bx[5] = {X(fx0), X(fx0 + box_w), X(fx0 + box_w), X(fx0), X(fx0)};
  const PLFLT by[5] = {Y(fy1 - box_h), Y(fy1 - box_h), Y(fy1), Y(fy1), Y(fy1 - box_h)};
  p.line(5, bx, by);
  p.schr(0, 0.95);
  for (size_t i = 0; i < entries.size(); ++i) {
    const double cy = fy1 - 5.0 / viewport_px_y() - row * (static_cast<double>(i) + 0.5);
    const double sx0 = fx0 + 6.0 / viewport_px_x();
    if (entries[i].line) {
      polyline({X(sx0), X(sx0 + swatch)}, {Y(cy), Y(cy)}, entries[i].colour, 3.0);
    } else {
      p.col0(entries[i].colour);
      rect(X(sx0), Y(cy - row * 0.3), X(sx0 + swatch), Y(cy + row * 0.3));
    }
    p.col0(kText);
    p.ptex(X(sx0 + swatch + 8.0 / viewport_px_x()), Y(cy - row * 0.18), 1, 0, 0, entries[i].label.c_str());
  }
  p.schr(0, 1.0);
}

void Figure::finish() {
  stream_.reset();  // plend1: flushes and closes the PNG
  std::error_code ec;
  const auto size = std::filesystem::file_size(temp_, ec);
  if (ec || size == 0) {
    std::filesystem::remove(temp_, ec);
    finished_ = true;
    throw Error(ErrorCode::kIo, "could not write plot " + png_, "check that the directory is writable");
  }
  replace_file(temp_, png_);
  finished_ = true;
}

}  // namespace faceage::eval
