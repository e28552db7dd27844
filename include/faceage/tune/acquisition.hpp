#pragma once
// Expected improvement for minimisation (Jones, Schonlau & Welch 1998):
//   I = best - mean - xi,  z = I / sigma,  EI = I Phi(z) + sigma phi(z)
// and EI = max(I, 0) as sigma -> 0 (below 1e-12). xi >= 0 trades exploitation for exploration.
#include <Eigen/Core>

namespace faceage::tune {

double expected_improvement(double mean, double sigma, double best, double xi = 0.0);
// Elementwise over means and variances (not standard deviations).
Eigen::VectorXd expected_improvement(const Eigen::VectorXd& mean, const Eigen::VectorXd& variance, double best,
                                     double xi = 0.0);

double normal_pdf(double z);
double normal_cdf(double z);

}  // namespace faceage::tune
