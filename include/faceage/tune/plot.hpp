#pragma once
// Small PNG plots drawn with OpenCV (no plotting library needed): line/scatter plots such as
// best-so-far vs trial number, and per-parameter slice plots. Written atomically.
#include <string>
#include <vector>

#include "faceage/tune/search_space.hpp"

namespace faceage::tune {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  bool points = false;  // markers instead of a line
};

struct PlotOptions {
  std::string title, x_label, y_label;
  int width = 900, height = 540;
  bool log_y = false;  // non-positive values are dropped
  double hline = 0.0;  // a dashed reference line at this y when non-zero
};

// Throws kIo when the file cannot be written; an empty plot (no points) is still drawn.
void write_line_plot(const std::string& png, const std::vector<PlotSeries>& series, const PlotOptions& options);

// One panel per parameter: metric (y) against the parameter's value (x; log axis for log params,
// choice index for categoricals); `best` (index into params/values, or -1) is highlighted.
void write_slice_plot(const std::string& png, const SearchSpace& space, const std::vector<ParamSet>& params,
                      const std::vector<double>& values, int best, const std::string& metric);

}  // namespace faceage::tune
