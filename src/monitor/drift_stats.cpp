#include "faceage/monitor/drift_stats.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "faceage/core/check.hpp"

namespace faceage::monitor {
namespace {

void require_values(const std::vector<double>& values, const char* what) {
  FACEAGE_CHECK(!values.empty(), ErrorCode::kInvalidArgument, what << " needs at least one value");
}

// Sorted values at probability p, linear between order statistics.
double sorted_quantile(const std::vector<double>& sorted, double p) {
  const double position = p * static_cast<double>(sorted.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(position));
  const std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  const double weight = position - static_cast<double>(lower);
  return sorted[lower] + weight * (sorted[upper] - sorted[lower]);
}

// Calls step(F_a(x), F_b(x), gap) right after each distinct value x of the pooled samples (ties
// move both CDFs together), where gap is the distance to the next distinct value (0 after the last).
template <typename Step>
void walk_cdfs(std::vector<double> a, std::vector<double> b, const char* what, Step&& step) {
  require_values(a, what);
  require_values(b, what);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  // The smallest value not yet passed; nullopt when both samples are used up.
  auto next_value = [&]() -> std::optional<double> {
    if (i < a.size() && j < b.size()) return std::min(a[i], b[j]);
    if (i < a.size()) return a[i];
    if (j < b.size()) return b[j];
    return std::nullopt;
  };
  for (auto x = next_value(); x;) {
    while (i < a.size() && a[i] <= *x) ++i;
    while (j < b.size() && b[j] <= *x) ++j;
    const auto next = next_value();
    step(static_cast<double>(i) / n, static_cast<double>(j) / m, next ? *next - *x : 0.0);
    x = next;
  }
}

}  // namespace

std::vector<double> quantile_cuts(std::vector<double> values, int bins) {
  require_values(values, "binning");
  FACEAGE_CHECK(bins >= 2, ErrorCode::kInvalidArgument, "binning needs at least 2 bins (got " << bins << ")");
  std::sort(values.begin(), values.end());
  std::vector<double> cuts;
  for (int i = 1; i < bins; ++i) {
    const double cut = sorted_quantile(values, static_cast<double>(i) / bins);
    if (cuts.empty() || cut > cuts.back()) cuts.push_back(cut);
  }
  return cuts;
}

std::vector<double> bin_fractions(const std::vector<double>& cuts, const std::vector<double>& values) {
  require_values(values, "bin fractions");
  std::vector<double> fractions(cuts.size() + 1, 0.0);
  for (double v : values) {
    // First cut >= v: bins are closed on the right.
    const auto bin = static_cast<std::size_t>(std::lower_bound(cuts.begin(), cuts.end(), v) - cuts.begin());
    fractions[bin] += 1.0;
  }
  for (double& f : fractions) f /= static_cast<double>(values.size());
  return fractions;
}

double population_stability_index(const std::vector<double>& reference_fractions,
                                  const std::vector<double>& live_fractions, double floor) {
  FACEAGE_CHECK(reference_fractions.size() == live_fractions.size() && !reference_fractions.empty(),
                ErrorCode::kInvalidArgument,
                "PSI needs the same bins on both sides (" << reference_fractions.size() << " vs "
                                                          << live_fractions.size() << ")");
  double psi = 0.0;
  for (std::size_t i = 0; i < reference_fractions.size(); ++i) {
    const double r = std::max(reference_fractions[i], floor);
    const double l = std::max(live_fractions[i], floor);
    psi += (l - r) * std::log(l / r);
  }
  return psi;
}

double ks_statistic(std::vector<double> a, std::vector<double> b) {
  double d = 0.0;
  walk_cdfs(std::move(a), std::move(b), "the Kolmogorov-Smirnov test",
            [&](double fa, double fb, double) { d = std::max(d, std::abs(fa - fb)); });
  return d;
}

double ks_p_value(double d, double n, double m) {
  FACEAGE_CHECK(n > 0 && m > 0, ErrorCode::kInvalidArgument, "the Kolmogorov-Smirnov p-value needs two non-empty samples");
  const double ne = std::sqrt(n * m / (n + m));
  const double lambda = (ne + 0.12 + 0.11 / ne) * d;
  const double a2 = -2.0 * lambda * lambda;
  double sign = 2.0, sum = 0.0, previous = 0.0;
  for (int k = 1; k <= 100; ++k) {
    const double term = sign * std::exp(a2 * k * k);
    sum += term;
    if (std::abs(term) <= 1e-3 * previous || std::abs(term) <= 1e-8 * sum) return std::clamp(sum, 0.0, 1.0);
    sign = -sign;
    previous = std::abs(term);
  }
  return 1.0;  // the series does not converge for lambda near 0: no evidence of a difference
}

KsResult ks_two_sample(const std::vector<double>& a, const std::vector<double>& b) {
  KsResult result;
  result.statistic = ks_statistic(a, b);
  result.p_value = ks_p_value(result.statistic, static_cast<double>(a.size()), static_cast<double>(b.size()));
  return result;
}

double wasserstein_distance(std::vector<double> a, std::vector<double> b) {
  double distance = 0.0;
  walk_cdfs(std::move(a), std::move(b), "the Wasserstein distance",
            [&](double fa, double fb, double gap) { distance += std::abs(fa - fb) * gap; });
  return distance;
}

std::vector<double> quantile_summary(std::vector<double> values, int points) {
  require_values(values, "a quantile summary");
  FACEAGE_CHECK(points >= 2, ErrorCode::kInvalidArgument, "a quantile summary needs at least 2 points");
  std::sort(values.begin(), values.end());
  std::vector<double> out(static_cast<std::size_t>(points));
  for (int k = 0; k < points; ++k) out[static_cast<std::size_t>(k)] = sorted_quantile(values, static_cast<double>(k) / (points - 1));
  return out;
}

}  // namespace faceage::monitor
