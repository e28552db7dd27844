#pragma once
// Portable random draws for augmentation. std::uniform_real_distribution and friends are
// implementation-defined, so the same seed could give different images with another standard
// library; these draws are defined bit for bit.
//
// Augmenter::sample() takes one 64-bit value from the caller's std::mt19937_64 per transform
// and expands it with a RandomStream (SplitMix64), so every transform always consumes exactly
// one value: switching one transform off does not change what the others draw.
#include <cmath>
#include <cstdint>

namespace faceage::augment {

class RandomStream {
 public:
  explicit RandomStream(std::uint64_t seed) : state_(seed) {}

  // SplitMix64 (Steele, Lea, Flood 2014): full 64-bit output, passes BigCrush, one multiply-add.
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) from the top 53 bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi) (lo when lo == hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  // Uniform in [lo, hi] for lo <= hi, integers inclusive.
  int uniform_int(int lo, int hi) {
    const double span = static_cast<double>(hi) - static_cast<double>(lo) + 1.0;
    const int value = lo + static_cast<int>(uniform01() * span);
    return value > hi ? hi : value;
  }
  // log-uniform in [lo, hi], lo > 0: symmetric for ratios (0.5 as likely as 2).
  double log_uniform(double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); }
  // True with probability p; always consumes one draw so later draws do not depend on p.
  bool bernoulli(double p) { return uniform01() < p; }
  // Standard normal (Box-Muller, one of the pair).
  double normal() {
    const double u1 = 1.0 - uniform01();  // (0, 1]: log is finite
    const double u2 = uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

}  // namespace faceage::augment
