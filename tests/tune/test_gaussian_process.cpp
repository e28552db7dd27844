#include "faceage/tune/gaussian_process.hpp"

#include <gtest/gtest.h>

#include "faceage/tune/lbfgs.hpp"

namespace faceage::tune {
namespace {

// Reference numbers from tests/tune/gp_reference.py (numpy, textbook formulas).
struct Tiny {
  Eigen::MatrixXd X{3, 2};
  Eigen::VectorXd y{3};
  Eigen::MatrixXd Xs{2, 2};
  GpHyperparameters h;
  Tiny() {
    X << 0.1, 0.2, 0.5, 0.9, 0.8, 0.3;
    y << 1.0, -0.5, 2.0;
    Xs << 0.3, 0.4, 0.8, 0.3;
    h.signal_variance = 1.5;
    h.lengthscales = Eigen::Vector2d(0.3, 0.6);
    h.noise_variance = 1e-2;
  }
};

TEST(Matern52, MatchesReferenceValues) {
  Tiny t;
  EXPECT_NEAR(matern52(t.X.row(0), t.X.row(1), t.h.lengthscales, 1.5), 0.2909962129858488, 1e-12);
  EXPECT_NEAR(matern52(t.X.row(0), t.Xs.row(0), t.h.lengthscales, 1.5), 1.0178296375135276, 1e-12);
  EXPECT_DOUBLE_EQ(matern52(t.X.row(2), t.X.row(2), t.h.lengthscales, 1.5), 1.5);  // k(x, x) = s2
  const Eigen::MatrixXd K = matern52_matrix(t.X, t.Xs, t.h.lengthscales, 1.5);
  EXPECT_NEAR(K(0, 0), 1.0178296375135276, 1e-12);
  EXPECT_NEAR(K(2, 1), 1.5, 1e-12);
}

TEST(GaussianProcess, PosteriorMatchesReferenceWithoutStandardisation) {
  Tiny t;
  GaussianProcess gp;
  gp.fit(t.X, t.y, t.h, /*standardize=*/false);
  const auto p = gp.predict(t.Xs);
  EXPECT_NEAR(p.mean[0], 0.5538342843750885, 1e-9);
  EXPECT_NEAR(p.mean[1], 1.9843019038327154, 1e-9);
  EXPECT_NEAR(p.variance[0], 0.6132973278366713, 1e-9);
  EXPECT_NEAR(p.variance[1], 0.009926433597306827, 1e-9);
  EXPECT_NEAR(gp.log_marginal_likelihood(), -5.474521747201362, 1e-9);
  EXPECT_NEAR(gp_log_marginal_likelihood(t.X, t.y, t.h.to_theta()), -5.474521747201362, 1e-9);
}

TEST(GaussianProcess, PosteriorMatchesReferenceWithStandardisation) {
  Tiny t;
  GaussianProcess gp;
  gp.fit(t.X, t.y, t.h, /*standardize=*/true);
  const auto p = gp.predict(t.Xs);
  EXPECT_NEAR(p.mean[0], 0.5440610630532408, 1e-9);
  EXPECT_NEAR(p.mean[1], 1.9883931115624072, 1e-9);
  EXPECT_NEAR(p.variance[0], 0.6473694016053754, 1e-9);
  EXPECT_NEAR(p.variance[1], 0.010477902130490543, 1e-9);
}

TEST(GaussianProcess, MarginalLikelihoodGradientMatchesFiniteDifferences) {
  Tiny t;
  Eigen::MatrixXd X(5, 3);
  X << 0.1, 0.2, 0.7, 0.5, 0.9, 0.1, 0.8, 0.3, 0.4, 0.2, 0.6, 0.9, 0.95, 0.05, 0.5;
  Eigen::VectorXd y(5);
  y << 1.0, -0.5, 2.0, 0.3, -1.2;
  Eigen::VectorXd theta(5);
  theta << 0.3, std::log(0.4), std::log(0.25), std::log(0.8), std::log(0.05);
  Eigen::VectorXd grad;
  gp_log_marginal_likelihood(X, y, theta, &grad);
  for (Eigen::Index i = 0; i < theta.size(); ++i) {
    const double h = 1e-6;
    Eigen::VectorXd a = theta, b = theta;
    a[i] += h;
    b[i] -= h;
    const double fd = (gp_log_marginal_likelihood(X, y, a) - gp_log_marginal_likelihood(X, y, b)) / (2 * h);
    EXPECT_NEAR(grad[i], fd, 1e-5 * std::max(1.0, std::abs(fd))) << "theta[" << i << "]";
  }
}

TEST(GaussianProcess, DuplicatePointsStillFactorise) {
  Eigen::MatrixXd X(3, 1);
  X << 0.5, 0.5, 0.5;
  Eigen::VectorXd y(3);
  y << 1.0, 1.0, 1.0;
  GpHyperparameters h;
  h.lengthscales = Eigen::VectorXd::Constant(1, 0.3);
  h.noise_variance = 1e-12;
  GaussianProcess gp;
  EXPECT_NO_THROW(gp.fit(X, y, h));
  EXPECT_NEAR(gp.predict(X).mean[0], 1.0, 1e-6);
}

TEST(GaussianProcess, FittedHyperparametersImproveTheLikelihoodAndInterpolate) {
  // A smooth 1-D function: the MAP fit should beat the default start and interpolate the data.
  const int n = 12;
  Eigen::MatrixXd X(n, 1);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    X(i, 0) = i / double(n - 1);
    y[i] = std::sin(6 * X(i, 0));
  }
  std::mt19937_64 rng(1);
  GaussianProcess gp;
  gp.fit_hyperparameters(X, y, GpFitOptions{}, rng);
  GaussianProcess start;
  GpHyperparameters h0;
  h0.lengthscales = Eigen::VectorXd::Constant(1, 0.5);
  h0.noise_variance = 1e-4;
  start.fit(X, y, h0);
  EXPECT_GT(gp.log_marginal_likelihood(), start.log_marginal_likelihood());
  Eigen::MatrixXd q(1, 1);
  q << 0.52;
  EXPECT_NEAR(gp.predict(q).mean[0], std::sin(6 * 0.52), 0.05);
  EXPECT_LT(gp.predict(q).variance[0], 0.05);
}

TEST(Lbfgs, MinimisesRosenbrock) {
  auto f = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    const double a = 1 - x[0], b = x[1] - x[0] * x[0];
    g.resize(2);
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return a * a + 100 * b * b;
  };
  const auto r = lbfgs_minimize(f, Eigen::Vector2d(-1.2, 1.0), 500, 1e-8);
  EXPECT_NEAR(r.x[0], 1.0, 1e-4);
  EXPECT_NEAR(r.x[1], 1.0, 1e-4);
}

}  // namespace
}  // namespace faceage::tune
