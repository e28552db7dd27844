#pragma once
// A PLplot figure bound to one PNG file (private to src/eval). Owns one plstream for its lifetime,
// holds the eval plotting mutex (PLplot's stream tables are process-global) and writes to a temp
// file that finish() renames over the target.
#include <plstream.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace faceage::eval {

// Colour map 0 slots set by Figure (a muted, colour-blind-friendly palette).
enum Colour : int {
  kBackground = 0,
  kText = 1,
  kGrid = 2,
  kBlue = 3,
  kOrange = 4,
  kGreen = 5,
  kRed = 6,
  kPurple = 7,
  kGrey = 8,
  kBrown = 9,
  kPink = 10,
  kWhite = 11,
  kScratch = 12,  // free for per-plot colours (scol0a)
};

struct Axes {
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  std::string xlabel, ylabel, title;
  bool log_y = false;     // y values are log10 already; ticks are labelled as powers
  bool grid = true;
  bool x_numbers = true;  // false: categorical x axis labelled by the caller
  bool y_numbers = true;
  double ylabel_disp = 0;  // distance of the y label from the axis in character heights (0: automatic)
  double title_scale = 1.3;
};

class Figure {
 public:
  Figure(const std::string& png, int width, int height);
  ~Figure();
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;

  plstream& pls() { return *stream_; }
  int width() const { return width_; }
  int height() const { return height_; }

  // Sets a viewport in normalised page coordinates and draws the frame, grid, labels and title.
  void axes(double vx0, double vx1, double vy0, double vy1, const Axes& a);
  // Pixel size of the current viewport (for markers that must stay round).
  double viewport_px_x() const { return (vx1_ - vx0_) * width_; }
  double viewport_px_y() const { return (vy1_ - vy0_) * height_; }

  void colour(int c) { stream_->col0(c); }
  void rect(double x0, double y0, double x1, double y1);
  void polyline(const std::vector<double>& x, const std::vector<double>& y, int colour, double width, int style = 1);
  struct LegendEntry {
    int colour;
    std::string label;
    bool line = false;  // a line sample instead of a filled swatch
  };
  enum Corner { kTopLeft, kTopRight, kBottomRight, kBottomLeft };
  // Small legend box in a corner inside the viewport.
  void legend(const std::vector<LegendEntry>& entries, Corner corner = kTopLeft);
  // The corner whose legend box covers the fewest points of these polylines (world coordinates),
  // preferring top right, top left, bottom right, bottom left on ties.
  Corner emptiest_corner(const std::vector<LegendEntry>& entries,
                         const std::vector<std::pair<const std::vector<double>*, const std::vector<double>*>>& lines) const;

  // Ends the stream and renames the temp file over the target (kIo on failure).
  void finish();

 private:
  // Legend box size in viewport fractions.
  std::pair<double, double> legend_size(const std::vector<LegendEntry>& entries) const;
  // Legend box origin (left, top) in viewport fractions.
  std::pair<double, double> legend_origin(Corner corner, double w, double h) const;

  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<plstream> stream_;
  std::string png_;
  std::string temp_;
  int width_, height_;
  double vx0_ = 0, vx1_ = 1, vy0_ = 0, vy1_ = 1;
  double wx0_ = 0, wx1_ = 1, wy0_ = 0, wy1_ = 1;
  bool finished_ = false;
};

}  // namespace faceage::eval
