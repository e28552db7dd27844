#include "faceage/tune/test_functions.hpp"

#include <cmath>

#include "faceage/core/check.hpp"

namespace faceage::tune {

double branin(const std::vector<double>& x) {
  constexpr double pi = 3.14159265358979323846;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  const double q = x[1] - b * x[0] * x[0] + c * x[0] - 6;
  return q * q + 10 * (1 - t) * std::cos(x[0]) + 10;
}

double hartmann6(const std::vector<double>& x) {
  static constexpr double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static constexpr double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14},
                                     {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}};
  static constexpr double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
                                     {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
                                     {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
                                     {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double e = 0;
    for (int j = 0; j < 6; ++j) e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
    sum += alpha[i] * std::exp(-e);
  }
  return -sum;
}

double TestFunction::operator()(const ParamSet& params) const {
  std::vector<double> x;
  x.reserve(params.size());
  for (const auto& v : params) x.push_back(std::get<double>(v));
  return evaluate(x);
}

TestFunction branin_function() {
  std::vector<ParamSpec> params(2);
  params[0].key = "x1", params[0].low = -5, params[0].high = 10;
  params[1].key = "x2", params[1].low = 0, params[1].high = 15;
  return {"branin", SearchSpace(params), 0.397887357729738, 308.129096011607, &branin};
}

TestFunction hartmann6_function() {
  std::vector<ParamSpec> params(6);
  for (int i = 0; i < 6; ++i) params[static_cast<std::size_t>(i)].key = "x" + std::to_string(i + 1);
  // The supremum over [0,1]^6 is 0 (approached far from all four bumps).
  return {"hartmann6", SearchSpace(params), -3.32236801141551, 0.0, &hartmann6};
}

int evaluations_to_reach(const TestFunction& f, const std::vector<double>& values, double tolerance) {
  double best = INFINITY;
  for (std::size_t i = 0; i < values.size(); ++i) {
    best = std::min(best, values[i]);
    if (f.relative_regret(best) <= tolerance) return static_cast<int>(i + 1);
  }
  return static_cast<int>(values.size()) + 1;
}

}  // namespace faceage::tune
