#pragma once
// The collectives data-parallel training needs, over LibTorch's c10d (private to the train
// module; the c10d and Gloo headers stay in process_group.cpp). Every failure of a peer or the
// network, and every collective that waits past the timeout, is a faceage::Error(kIo).
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "faceage/train/distributed.hpp"

namespace faceage::train {

class Communicator {
 public:
  // Joins the job: rank 0 serves the TCP store at MASTER_ADDR:MASTER_PORT, the others connect;
  // returns once all WORLD_SIZE ranks are in. NCCL when `device` is CUDA and this LibTorch has it,
  // else Gloo (CUDA tensors then travel through the CPU).
  Communicator(const DistributedOptions& options, const torch::Device& device);
  ~Communicator();
  // Whether this build has c10d Gloo (else the constructor throws kConfig).
  static bool available();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  const std::string& backend() const { return backend_; }
  // Where tensors handed to the collectives must live.
  torch::Device device() const { return device_; }

  // In place; started at once, finished by wait().
  struct Pending;
  std::shared_ptr<Pending> all_reduce_sum_async(torch::Tensor tensor);
  void wait(const std::shared_ptr<Pending>& pending);
  void all_reduce_sum(torch::Tensor tensor) { wait(all_reduce_sum_async(std::move(tensor))); }
  void broadcast(torch::Tensor tensor, int root = 0);
  void barrier();
  // For work rank 0 does alone that may outlast the collective timeout (building the crop cache):
  // rank 0 calls main_done(key) when it is finished; the others block in wait_for_main(key) with no
  // timeout but rank 0's death (its store connection closes).
  void main_done(const std::string& key);
  void wait_for_main(const std::string& key);

 private:
  struct Impl;
  DistributedOptions options_;
  std::string backend_;
  torch::Device device_;
  std::unique_ptr<Impl> impl_;
};

// Copies rank 0's parameters and buffers into every rank's module (the same start everywhere).
void broadcast_module_state(Communicator& communicator, torch::nn::Module& module);

// Averages gradients over the ranks, overlapping the all-reduce with backward as PyTorch's DDP
// does. The parameters that require a gradient are assigned, in reverse order (backward produces
// the last layer's gradients first), to flat buckets: the first of about min(1 MB, bucket_bytes),
// so the last layers' all-reduce starts early, the others of about `bucket_bytes`, one dtype each.
// With `overlap`, a hook on each such parameter copies the gradient backward is about to
// accumulate into its bucket; the bucket whose last gradient arrived starts its all-reduce from
// within backward, in bucket order (every rank must start the same collectives in the same order,
// whatever order its gradients arrive in). The last bucket (the first layers, whose gradients
// come last anyway) waits for average(), where `extras` ride in it.
//
// Per step: prepare(parameters) before backward, average(extras) after it. Each parameter then
// holds in .grad the average over the ranks of its .grad as backward left it; one that got no
// gradient on a rank counts there as its .grad before backward (zero after the trainer's
// zero_grad; none is zero). One backward per step: a second one whose gradient reaches a bucket
// already started is a kInternal error (gradient accumulation would need DDP's no_sync).
//
// Hooks fire on the thread that runs backward for the parameters' device; a mutex keeps them
// safe should parameters live on several devices (one engine thread each). Hooks are removed
// when the reducer is destroyed (and do nothing outside prepare()..average() or once it is gone).
class GradientAllReducer {
 public:
  struct Options {
    std::int64_t bucket_bytes = 25ll << 20;
    std::int64_t first_bucket_bytes = 1ll << 20;  // capped at bucket_bytes; DDP's default
    bool overlap = true;                          // false: no hooks; every bucket starts in average()
  };
  // Totals since reset_time().
  struct Timings {
    double seconds = 0;       // wall time in average(): the wait after backward, which overlap shortens
    double wait_seconds = 0;  // the part of `seconds` blocked in the all-reduces' wait()
    double hook_seconds = 0;  // time in the hooks during backward (copies, starts): added to backward
    std::int64_t calls = 0;
    std::int64_t buckets = 0;                  // buckets all-reduced
    std::int64_t buckets_during_backward = 0;  // of which started from a hook
  };

  GradientAllReducer(Communicator& communicator, Options options);
  ~GradientAllReducer();
  GradientAllReducer(const GradientAllReducer&) = delete;
  GradientAllReducer& operator=(const GradientAllReducer&) = delete;

  // Before backward: (re)assigns the buckets and hooks when the parameters that require a
  // gradient changed (a frozen backbone thawed), and arms the hooks for this step.
  void prepare(const std::vector<torch::Tensor>& parameters);
  // After backward: starts the buckets not started yet, waits for all, writes the averages into
  // .grad. `extras` (a small float tensor: losses, flags) is averaged in place with the last
  // bucket, at no extra round trip.
  void average(torch::Tensor& extras);

  // This step's buckets (since prepare()) whose all-reduce a hook started, i.e. during backward.
  std::int64_t buckets_started_during_backward() const;
  std::size_t bucket_count() const;
  const Timings& timings() const;
  double seconds() const { return timings().seconds; }
  std::int64_t calls() const { return timings().calls; }
  void reset_time();

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with nothing: the hooks hold a weak_ptr, so they go inert with it
};

}  // namespace faceage::train
