#include "faceage/tune/acquisition.hpp"

#include <algorithm>
#include <cmath>

namespace faceage::tune {

double normal_pdf(double z) { return 0.39894228040143267794 * std::exp(-0.5 * z * z); }
double normal_cdf(double z) { return 0.5 * std::erfc(-z * 0.70710678118654752440); }

double expected_improvement(double mean, double sigma, double best, double xi) {
  const double improvement = best - mean - xi;
  if (!(sigma > 1e-12)) return std::max(improvement, 0.0);
  const double z = improvement / sigma;
  return std::max(improvement * normal_cdf(z) + sigma * normal_pdf(z), 0.0);
}

Eigen::VectorXd expected_improvement(const Eigen::VectorXd& mean, const Eigen::VectorXd& variance, double best,
                                     double xi) {
  Eigen::VectorXd out(mean.size());
  for (Eigen::Index i = 0; i < mean.size(); ++i)
    out[i] = expected_improvement(mean[i], std::sqrt(std::max(variance[i], 0.0)), best, xi);
  return out;
}

}  // namespace faceage::tune
