#pragma once
// A small exact Gaussian process for Bayesian optimisation (Rasmussen & Williams 2006, ch. 2 and 5).
//   kernel   Matérn 5/2 with ARD lengthscales: k(r) = s2 (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r),
//            r^2 = sum_j (a_j - b_j)^2 / l_j^2
//   noise    Gaussian, variance n2, added to the diagonal
//   outputs  standardised (zero mean, unit variance) before fitting when `standardize` is on
// Hyperparameters theta = [log s2, log l_1 .. log l_d, log n2] are fitted by maximising the log
// marginal likelihood plus log-normal priors (multi-start L-BFGS with analytic gradients).
// Points are rows of X.
#include <cstdint>
#include <random>

#include <Eigen/Core>

namespace faceage::tune {

struct GpHyperparameters {
  double signal_variance = 1.0;
  Eigen::VectorXd lengthscales;  // one per input dimension
  double noise_variance = 1e-6;

  Eigen::VectorXd to_theta() const;
  static GpHyperparameters from_theta(const Eigen::VectorXd& theta);
};

// Matérn 5/2 ARD covariance between one pair of points.
double matern52(const Eigen::VectorXd& a, const Eigen::VectorXd& b, const Eigen::VectorXd& lengthscales,
                double signal_variance);
// Covariance matrix between the rows of A and the rows of B.
Eigen::MatrixXd matern52_matrix(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, const Eigen::VectorXd& lengthscales,
                                double signal_variance);

// Log marginal likelihood of y (as given, not standardised) under theta; fills `gradient`
// (d/dtheta) when non-null. Throws kInternal if the covariance cannot be factorised even with jitter.
double gp_log_marginal_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& theta,
                                  Eigen::VectorXd* gradient = nullptr);

struct GpFitOptions {
  bool standardize = true;
  int restarts = 3;        // L-BFGS starts: the prior mode, then random draws from the prior
  int max_iterations = 60;
  // Log-normal priors (mean and sd of the log) and hard bounds on the hyperparameters, for
  // inputs in the unit cube and standardised outputs.
  double lengthscale_log_mean = -0.7;  // ~ 0.5
  double lengthscale_log_sd = 1.0;
  double signal_log_sd = 1.0;          // around 1
  double noise_log_mean = -9.2;        // ~ 1e-4
  double noise_log_sd = 2.0;
  double min_lengthscale = 5e-3, max_lengthscale = 50.0;
  double min_signal = 1e-2, max_signal = 1e2;
  double min_noise = 1e-8, max_noise = 1.0;
};

struct GpPrediction {
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;  // of the latent function (no observation noise), >= 0
};

class GaussianProcess {
 public:
  // Conditions on (X, y) with fixed hyperparameters.
  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpHyperparameters& hyper, bool standardize = true);
  // Fits the hyperparameters (MAP), then conditions. `rng` draws the restart points.
  void fit_hyperparameters(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpFitOptions& options,
                           std::mt19937_64& rng);

  // Posterior at the rows of Xs, in the units of y.
  GpPrediction predict(const Eigen::MatrixXd& Xs) const;

  const GpHyperparameters& hyperparameters() const { return hyper_; }
  double log_marginal_likelihood() const { return lml_; }
  bool fitted() const { return X_.rows() > 0; }

 private:
  Eigen::MatrixXd X_;
  Eigen::MatrixXd L_;      // lower Cholesky factor of K + n2 I (+ jitter)
  Eigen::VectorXd alpha_;  // (K + n2 I)^-1 y_standardised
  GpHyperparameters hyper_;
  double y_mean_ = 0.0, y_scale_ = 1.0;
  double lml_ = 0.0;
};

}  // namespace faceage::tune
