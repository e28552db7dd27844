#pragma once
// L-BFGS (Nocedal & Wright 2006, alg. 7.4/7.5) with a backtracking Armijo line search. Updates
// with non-positive curvature are skipped, so the inverse-Hessian estimate stays positive definite.
// f(x, grad) returns the value and writes the gradient; a non-finite value rejects the step.
#include <cmath>
#include <deque>
#include <limits>
#include <vector>

#include <Eigen/Core>

namespace faceage::tune {

struct LbfgsResult {
  Eigen::VectorXd x;
  double value = 0.0;
  int iterations = 0;
};

template <class F>
LbfgsResult lbfgs_minimize(F&& f, Eigen::VectorXd x, int max_iterations = 100, double tolerance = 1e-6, int m = 8) {
  Eigen::VectorXd g(x.size());
  double fx = f(x, g);
  LbfgsResult best{x, fx, 0};
  if (!std::isfinite(fx)) return best;
  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  Eigen::VectorXd q, d, x_new, g_new(x.size());
  for (int it = 0; it < max_iterations; ++it) {
    best.iterations = it;
    if (g.lpNorm<Eigen::Infinity>() < tolerance) break;
    // Two-loop recursion: d = -H g.
    q = g;
    std::vector<double> a(S.size());
    for (int i = static_cast<int>(S.size()) - 1; i >= 0; --i) {
      a[i] = rho[i] * S[i].dot(q);
      q -= a[i] * Y[i];
    }
    double gamma = S.empty() ? 1.0 / std::max(1.0, g.norm()) : S.back().dot(Y.back()) / Y.back().squaredNorm();
    q *= gamma;
    for (std::size_t i = 0; i < S.size(); ++i) {
      double b = rho[i] * Y[i].dot(q);
      q += S[i] * (a[i] - b);
    }
    d = -q;
    double slope = g.dot(d);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      S.clear(); Y.clear(); rho.clear();
      d = -g / std::max(1.0, g.norm());
      slope = g.dot(d);
    }
    double step = 1.0, f_new = std::numeric_limits<double>::infinity();
    bool accepted = false;
    for (int ls = 0; ls < 30; ++ls) {
      x_new = x + step * d;
      f_new = f(x_new, g_new);
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    Eigen::VectorXd s = x_new - x, y = g_new - g;
    const double sy = s.dot(y);
    if (sy > 1e-12) {
      S.push_back(s); Y.push_back(y); rho.push_back(1.0 / sy);
      if (static_cast<int>(S.size()) > m) { S.pop_front(); Y.pop_front(); rho.pop_front(); }
    }
    const bool small_progress = std::abs(fx - f_new) <= 1e-10 * std::max(1.0, std::abs(fx));
    x = x_new; g = g_new; fx = f_new;
    if (fx < best.value) { best.x = x; best.value = fx; }
    if (small_progress) break;
  }
  return best;
}

}  // namespace faceage::tune
