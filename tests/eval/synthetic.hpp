#pragma once
// Deterministic synthetic evaluation records for the plot and report tests.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "faceage/eval/metrics.hpp"

namespace faceage::eval::fixtures {

// n records with ages 0..90, errors growing with age, genders with probabilities, intervals and
// races; files are "img/<i % images>.png".
inline std::vector<EvalRecord> synthetic_records(int n, int images = 8, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> age(0, 90), unit(0, 1);
  std::normal_distribution<double> noise(0, 1);
  std::vector<EvalRecord> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    EvalRecord r;
    r.file = "img/" + std::to_string(i % images) + ".png";
    r.true_age = std::round(age(rng));
    r.pred_age = std::max(0.0, r.true_age + 1.0 + noise(rng) * (1.5 + r.true_age * 0.08));
    r.age_low = r.pred_age - 6;
    r.age_high = r.pred_age + 6;
    const bool female = unit(rng) < 0.5;
    r.true_gender = female ? "female" : "male";
    const double p = std::clamp(0.5 + (female ? 0.35 : -0.35) + noise(rng) * 0.2, 0.0, 1.0);
    r.female_prob = p;
    r.pred_gender = p >= 0.5 ? "female" : "male";
    r.race = i % 6 == 5 ? -1 : i % 5;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace faceage::eval::fixtures
