#pragma once
// `faceage data split`: a manifest -> fixed train/val/test manifests that later stages read.
//  - Stratified by age band (0-2, 3-9, 10-17, 18-29, 30-39, 40-49, 50-59, 60-69, 70+) x gender.
//  - Seeded and deterministic across platforms: std::mt19937_64 (its sequence is fixed by the
//    standard) with our own bounded draw and Fisher-Yates shuffle; the result does not depend on
//    the input row order.
//  - Identity-disjoint: rows sharing a non-empty `subject` always land in the same split.
//  - use_split_column: the manifest's own split column decides (every row must have one).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "faceage/data/manifest.hpp"

namespace faceage::data {

inline constexpr std::array<const char*, 3> kSplitNames{"train", "val", "test"};

struct SplitOptions {
  std::vector<double> fractions{0.8, 0.1, 0.1};  // train, val, test; each >= 0, summing to 1
  std::uint64_t seed = 42;
  bool use_split_column = false;
};

// "0-2", "3-9", "10-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70+", or "unknown" (age < 0).
std::string age_band(int age);

// Splits the rows; each output keeps base_dir and has its `split` field set.
std::array<Manifest, 3> split_manifest(const Manifest& manifest, const SplitOptions& options);

struct SplitSummary {
  std::array<std::size_t, 3> counts{};
  std::array<std::string, 3> paths;  // DIR/train.csv, DIR/val.csv, DIR/test.csv
};

// Reads MANIFEST, splits it and writes DIR/{train,val,test}.csv and DIR/split.json (seed,
// fractions, counts per split and stratum).
SplitSummary write_splits(const std::string& manifest_path, const std::string& out_dir, const SplitOptions& options);

}  // namespace faceage::data
