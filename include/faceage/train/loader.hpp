#pragma once
// Multi-threaded batch loader over a CropSet: augment -> tensor, in worker threads, in order.
// Every random draw comes from (seed, epoch, sample index), so batches are identical whatever
// the thread count or scheduling, and a resumed epoch replays exactly.
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "faceage/augment/augmenter.hpp"
#include "faceage/models/preprocess.hpp"
#include "faceage/train/crop_cache.hpp"

namespace faceage::train {

struct LoaderOptions {
  int batch_size = 64;
  bool shuffle = true;
  bool drop_last = true;
  int workers = 2;           // threads making batches
  int prefetch_batches = 4;  // batches made ahead of the consumer
  std::uint64_t seed = 42;
  // Data-parallel training: this loader serves rank `rank`'s shard of each epoch's order
  // (distributed_shard in faceage/train/distributed.hpp).
  int rank = 0;
  int world_size = 1;
};

struct Batch {
  torch::Tensor images;   // [B,3,S,S] float, normalised per the PreprocessSpec
  torch::Tensor ages;     // [B] float
  torch::Tensor genders;  // [B] int64 (0 male, 1 female, -1 unknown)
  std::vector<std::size_t> samples;  // CropSet sample indices
};

class DataLoader {
 public:
  // `augmenter` null: no augmentation; crops are resized exactly as inference does
  // (models::images_to_tensor). `indices` selects the CropSet samples this loader serves.
  DataLoader(const CropSet& crops, std::vector<std::size_t> indices, const augment::Augmenter* augmenter,
             const models::PreprocessSpec& preprocess, const LoaderOptions& options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts an epoch (stopping any running one), skipping its first `skip_batches` batches.
  void start_epoch(int epoch, std::int64_t skip_batches = 0);
  // The next batch of the epoch in order, or nullopt at its end. Rethrows a worker's failure.
  std::optional<Batch> next();
  std::int64_t batches_per_epoch() const;
  // Seconds the consumer spent blocked in next() since the last reset.
  double wait_seconds() const { return wait_seconds_; }
  void reset_wait() { wait_seconds_ = 0; }

  // Builds one batch synchronously (used by the workers and by tests).
  Batch make_batch(int epoch, std::int64_t batch_index) const;
  // The sample order of an epoch (a seeded permutation of `indices`, or `indices` unshuffled; the
  // same on every rank), then this rank's shard of it.
  std::vector<std::size_t> epoch_order(int epoch) const;

 private:
  Batch make_batch(const std::vector<std::size_t>& order, int epoch, std::int64_t batch_index) const;
  void stop_workers();
  void worker_loop();

  const CropSet& crops_;
  std::vector<std::size_t> indices_;
  const augment::Augmenter* augmenter_;
  models::PreprocessSpec preprocess_;
  LoaderOptions options_;

  std::vector<std::size_t> order_;  // this epoch's permutation of indices_
  int epoch_ = 0;
  std::int64_t next_to_make_ = 0, next_to_return_ = 0, end_ = 0;
  std::map<std::int64_t, Batch> ready_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable made_cv_, space_cv_;
  std::vector<std::thread> workers_;
  double wait_seconds_ = 0;
};

// 64-bit mix of (seed, a, b) for per-sample generators (splitmix64).
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b);

}  // namespace faceage::train
