#include "faceage/tune/gaussian_process.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Cholesky>

#include "faceage/core/check.hpp"
#include "faceage/tune/lbfgs.hpp"

namespace faceage::tune {
namespace {

constexpr double kSqrt5 = 2.23606797749978969640;
constexpr double kLog2Pi = 1.83787706640934548356;

// Squared scaled distances between the rows of A and B (lengthscales already divided out).
Eigen::MatrixXd squared_distances(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) {
  Eigen::MatrixXd D = (-2.0 * A * B.transpose()).colwise() + A.rowwise().squaredNorm();
  D.rowwise() += B.rowwise().squaredNorm().transpose();
  return D.cwiseMax(0.0);
}

// Cholesky of K, adding jitter (relative to the mean diagonal) until it succeeds.
bool robust_cholesky(Eigen::MatrixXd& K, Eigen::LLT<Eigen::MatrixXd>& llt) {
  llt.compute(K);
  if (llt.info() == Eigen::Success) return true;
  const double scale = std::max(1e-12, K.diagonal().mean());
  for (double jitter = 1e-10; jitter <= 1e-2; jitter *= 10) {
    K.diagonal().array() += jitter * scale;
    llt.compute(K);
    if (llt.info() == Eigen::Success) return true;
  }
  return false;
}

}  // namespace

Eigen::VectorXd GpHyperparameters::to_theta() const {
  Eigen::VectorXd theta(lengthscales.size() + 2);
  theta[0] = std::log(signal_variance);
  theta.segment(1, lengthscales.size()) = lengthscales.array().log().matrix();
  theta[theta.size() - 1] = std::log(noise_variance);
  return theta;
}

GpHyperparameters GpHyperparameters::from_theta(const Eigen::VectorXd& theta) {
  FACEAGE_ENSURE(theta.size() >= 3, "theta needs at least 3 entries");
  GpHyperparameters h;
  h.signal_variance = std::exp(theta[0]);
  h.lengthscales = theta.segment(1, theta.size() - 2).array().exp().matrix();
  h.noise_variance = std::exp(theta[theta.size() - 1]);
  return h;
}

double matern52(const Eigen::VectorXd& a, const Eigen::VectorXd& b, const Eigen::VectorXd& lengthscales,
                double signal_variance) {
  const double r = ((a - b).array() / lengthscales.array()).matrix().norm();
  return signal_variance * (1.0 + kSqrt5 * r + 5.0 * r * r / 3.0) * std::exp(-kSqrt5 * r);
}

Eigen::MatrixXd matern52_matrix(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, const Eigen::VectorXd& lengthscales,
                                double signal_variance) {
  const Eigen::RowVectorXd inv = lengthscales.cwiseInverse().transpose();
  Eigen::MatrixXd R = squared_distances(A.array().rowwise() * inv.array(), B.array().rowwise() * inv.array()).cwiseSqrt();
  return (signal_variance * (1.0 + kSqrt5 * R.array() + (5.0 / 3.0) * R.array().square()) * (-kSqrt5 * R.array()).exp())
      .matrix();
}

double gp_log_marginal_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& theta,
                                  Eigen::VectorXd* gradient) {
  const Eigen::Index n = X.rows(), d = X.cols();
  FACEAGE_ENSURE(theta.size() == d + 2, "theta has " << theta.size() << " entries for " << d << " dims");
  const auto h = GpHyperparameters::from_theta(theta);
  const Eigen::RowVectorXd inv = h.lengthscales.cwiseInverse().transpose();
  const Eigen::MatrixXd Xs = X.array().rowwise() * inv.array();
  const Eigen::ArrayXXd R = squared_distances(Xs, Xs).cwiseSqrt().array();
  const Eigen::ArrayXXd E = (-kSqrt5 * R).exp();
  Eigen::MatrixXd K = (h.signal_variance * (1.0 + kSqrt5 * R + (5.0 / 3.0) * R.square()) * E).matrix();
  K.diagonal().array() += h.noise_variance;
  Eigen::LLT<Eigen::MatrixXd> llt;
  if (!robust_cholesky(K, llt)) return -std::numeric_limits<double>::infinity();
  const Eigen::VectorXd alpha = llt.solve(y);
  const Eigen::MatrixXd& L = llt.matrixLLT();
  const double lml = -0.5 * y.dot(alpha) - L.diagonal().array().log().sum() - 0.5 * static_cast<double>(n) * kLog2Pi;
  if (gradient) {
    gradient->resize(d + 2);
    // d lml / d theta_i = 1/2 tr((alpha alpha^T - K^-1) dK/dtheta_i)
    Eigen::MatrixXd W = alpha * alpha.transpose() - llt.solve(Eigen::MatrixXd::Identity(n, n));
    const Eigen::ArrayXXd Kf = h.signal_variance * (1.0 + kSqrt5 * R + (5.0 / 3.0) * R.square()) * E;
    (*gradient)[0] = 0.5 * (W.array() * Kf).sum();
    // dk/dlog l_j = s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (a_j - b_j)^2 / l_j^2
    const Eigen::ArrayXXd G = W.array() * (h.signal_variance * (5.0 / 3.0) * (1.0 + kSqrt5 * R) * E);
    for (Eigen::Index j = 0; j < d; ++j) {
      const Eigen::ArrayXd c = Xs.col(j).array();
      double sum = 0.0;
      for (Eigen::Index b = 0; b < n; ++b) sum += (G.col(b) * (c - c[b]).square()).sum();
      (*gradient)[1 + j] = 0.5 * sum;
    }
    (*gradient)[d + 1] = 0.5 * h.noise_variance * W.trace();
  }
  return lml;
}

void GaussianProcess::fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const GpHyperparameters& hyper,
                          bool standardize) {
  FACEAGE_CHECK(X.rows() == y.size() && X.rows() > 0, ErrorCode::kInvalidArgument,
                "GP fit needs as many targets as points (got " << X.rows() << " points, " << y.size() << " targets)");
  FACEAGE_CHECK(hyper.lengthscales.size() == X.cols(), ErrorCode::kInvalidArgument,
                "GP has " << hyper.lengthscales.size() << " lengthscales for " << X.cols() << " dims");
  X_ = X;
  hyper_ = hyper;
  y_mean_ = 0.0;
  y_scale_ = 1.0;
  if (standardize) {
    y_mean_ = y.mean();
    const double var = (y.array() - y_mean_).square().mean();
    y_scale_ = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
  const Eigen::VectorXd ys = (y.array() - y_mean_) / y_scale_;
  Eigen::MatrixXd K = matern52_matrix(X, X, hyper.lengthscales, hyper.signal_variance);
  K.diagonal().array() += hyper.noise_variance;
  Eigen::LLT<Eigen::MatrixXd> llt;
  FACEAGE_ENSURE(robust_cholesky(K, llt), "GP covariance is not positive definite even with jitter");
  L_ = llt.matrixL();
  alpha_ = llt.solve(ys);
  lml_ = -0.5 * ys.dot(alpha_) - L_.diagonal().array().log().sum() - 0.5 * static_cast<double>(X.rows()) * kLog2Pi;
}

void GaussianProcess::fit_hyperparameters(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                          const GpFitOptions& o, std::mt19937_64& rng) {
  FACEAGE_CHECK(X.rows() == y.size() && X.rows() > 0, ErrorCode::kInvalidArgument, "GP fit needs points");
  const Eigen::Index d = X.cols();
  double mean = 0.0, scale = 1.0;
  if (o.standardize) {
    mean = y.mean();
    const double var = (y.array() - mean).square().mean();
    scale = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
  const Eigen::VectorXd ys = (y.array() - mean) / scale;

  Eigen::VectorXd lo(d + 2), hi(d + 2), prior_mean(d + 2), prior_sd(d + 2);
  lo << std::log(o.min_signal), Eigen::VectorXd::Constant(d, std::log(o.min_lengthscale)), std::log(o.min_noise);
  hi << std::log(o.max_signal), Eigen::VectorXd::Constant(d, std::log(o.max_lengthscale)), std::log(o.max_noise);
  prior_mean << 0.0, Eigen::VectorXd::Constant(d, o.lengthscale_log_mean), o.noise_log_mean;
  prior_sd << o.signal_log_sd, Eigen::VectorXd::Constant(d, o.lengthscale_log_sd), o.noise_log_sd;

  // Negative log posterior (up to a constant); +inf outside the bounds rejects the step.
  auto objective = [&](const Eigen::VectorXd& theta, Eigen::VectorXd& grad) {
    if ((theta.array() < lo.array()).any() || (theta.array() > hi.array()).any())
      return std::numeric_limits<double>::infinity();
    const double lml = gp_log_marginal_likelihood(X, ys, theta, &grad);
    const Eigen::ArrayXd z = (theta - prior_mean).array() / prior_sd.array();
    grad = -(grad.array() - z / prior_sd.array()).matrix();
    return -(lml - 0.5 * z.square().sum());
  };

  Eigen::VectorXd best_theta = prior_mean;
  double best_value = std::numeric_limits<double>::infinity();
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int start = 0; start < std::max(1, o.restarts); ++start) {
    Eigen::VectorXd theta0 = prior_mean;
    if (start > 0) {
      for (Eigen::Index i = 0; i < theta0.size(); ++i) theta0[i] += prior_sd[i] * normal(rng);
    }
    theta0 = theta0.cwiseMax(lo + Eigen::VectorXd::Constant(d + 2, 1e-6)).cwiseMin(hi - Eigen::VectorXd::Constant(d + 2, 1e-6));
    const auto result = lbfgs_minimize(objective, theta0, o.max_iterations, 1e-5);
    if (result.value < best_value) {
      best_value = result.value;
      best_theta = result.x;
    }
  }
  fit(X, y, GpHyperparameters::from_theta(best_theta), o.standardize);
}

GpPrediction GaussianProcess::predict(const Eigen::MatrixXd& Xs) const {
  FACEAGE_ENSURE(fitted(), "GaussianProcess::predict before fit");
  FACEAGE_CHECK(Xs.cols() == X_.cols(), ErrorCode::kInvalidArgument,
                "GP predict got " << Xs.cols() << " dims, fitted on " << X_.cols());
  const Eigen::MatrixXd Ks = matern52_matrix(Xs, X_, hyper_.lengthscales, hyper_.signal_variance);  // m x n
  GpPrediction out;
  out.mean = ((Ks * alpha_).array() * y_scale_ + y_mean_).matrix();
  const Eigen::MatrixXd V = L_.triangularView<Eigen::Lower>().solve(Ks.transpose());  // n x m
  out.variance = ((hyper_.signal_variance - V.colwise().squaredNorm().transpose().array()).cwiseMax(0.0) *
                  (y_scale_ * y_scale_))
                     .matrix();
  return out;
}

}  // namespace faceage::tune
