#pragma once
// Standard optimisation test functions (Surjanovic & Bingham, "Virtual Library of Simulation
// Experiments"), with their search spaces and the range used for relative regret:
//   relative regret = (f(best) - f_min) / (f_max - f_min), f_max and f_min over the whole domain.
#include <string>
#include <vector>

#include "faceage/tune/search_space.hpp"

namespace faceage::tune {

struct TestFunction {
  std::string name;
  SearchSpace space;
  double f_min = 0.0;  // global minimum
  double f_max = 0.0;  // global maximum over the domain
  double (*evaluate)(const std::vector<double>& x) = nullptr;

  double operator()(const ParamSet& params) const;
  double relative_regret(double value) const { return (value - f_min) / (f_max - f_min); }
};

// Branin-Hoo on [-5, 10] x [0, 15]: f_min 0.397887 (three minima), f_max 308.1291 at (-5, 0).
double branin(const std::vector<double>& x);
// Hartmann-6 on [0, 1]^6: f_min -3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
double hartmann6(const std::vector<double>& x);
TestFunction branin_function();
TestFunction hartmann6_function();

// Evaluations (1-based) until the best-so-far is within `tolerance` relative regret; budget + 1
// when it never gets there.
int evaluations_to_reach(const TestFunction& f, const std::vector<double>& values, double tolerance = 0.01);

}  // namespace faceage::tune
