#include "faceage/monitor/drift_stats.hpp"

#include <algorithm>
#include <cmath>

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
  require_values(a, "the Kolmogorov-Smirnov test");
  require_values(b, "the Kolmogorov-Smirnov test");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  double d = 0.0;
  // Both CDFs are compared right after each distinct value, so ties move both together.
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m));
  }
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
  require_values(a, "the Wasserstein distance");
  require_values(b, "the Wasserstein distance");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double n = static_cast<double>(a.size()), m = static_cast<double>(b.size());
  std::size_t i = 0, j = 0;
  double distance = 0.0;
  double x = std::min(a[0], b[0]);
  // Between consecutive distinct values both CDFs are flat: add |F_a - F_b| times the gap.
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    if (i == a.size() && j == b.size()) break;
    double next = i < a.size() ? a[i] : b[j];
    if (j < b.size()) next = std::min(next, b[j]);
    distance += std::abs(static_cast<double>(i) / n - static_cast<double>(j) / m) * (next - x);
    x = next;
  }
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
