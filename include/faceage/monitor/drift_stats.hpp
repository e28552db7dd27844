#pragma once
// Distances between a reference distribution and a live one, for one scalar feature.
//   PSI           population stability index over fixed bins (chosen on the reference)
//   KS            two-sample Kolmogorov-Smirnov statistic and its asymptotic p-value
//   Wasserstein   1-D earth mover's distance, in the feature's own units
// Samples are plain value lists (any order); empty samples are kInvalidArgument.
#include <cstddef>
#include <vector>

namespace faceage::monitor {

// Cut points splitting `values` into (up to) `bins` bins of equal reference mass: the distinct
// interior quantiles 1/bins, ..., (bins-1)/bins. Bins are (-inf, c0], (c0, c1], ..., (c_last, inf),
// so a live value outside the reference range still lands in an end bin.
std::vector<double> quantile_cuts(std::vector<double> values, int bins);
// Fraction of `values` in each of the cuts.size() + 1 bins.
std::vector<double> bin_fractions(const std::vector<double>& cuts, const std::vector<double>& values);

// PSI = sum_i (live_i - ref_i) * ln(live_i / ref_i) over bin fractions; a fraction below `floor`
// counts as `floor` so that an empty bin gives a large finite value instead of infinity.
// Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift.
double population_stability_index(const std::vector<double>& reference_fractions,
                                  const std::vector<double>& live_fractions, double floor = 1e-4);

struct KsResult {
  double statistic = 0;  // sup_x |F_a(x) - F_b(x)|
  double p_value = 1;
};
double ks_statistic(std::vector<double> a, std::vector<double> b);
// Asymptotic two-sided p-value of statistic `d` for samples of sizes n and m: Q_KS(lambda) with
// lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * d, ne = n m / (n + m) (Stephens' correction, as in
// Numerical Recipes), Q_KS(l) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 l^2).
double ks_p_value(double d, double n, double m);
KsResult ks_two_sample(const std::vector<double>& a, const std::vector<double>& b);

// W1 = integral |F_a(x) - F_b(x)| dx.
double wasserstein_distance(std::vector<double> a, std::vector<double> b);

// `points` values at probabilities 0, 1/(points-1), ..., 1 (linear interpolation between order
// statistics, numpy's default): a summary that stands in for the sample in KS and Wasserstein.
std::vector<double> quantile_summary(std::vector<double> values, int points);

}  // namespace faceage::monitor
