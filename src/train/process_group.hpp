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

// Averages gradients over the ranks after backward: the gradients of the parameters that require
// one are packed in order into flat buckets of about `bucket_bytes`, every bucket's all-reduce is
// started before the first is waited for, then each is divided by the world size and copied back.
// A parameter that got no gradient on this rank counts as zero, as on a rank that used it.
class GradientAllReducer {
 public:
  GradientAllReducer(Communicator& communicator, std::int64_t bucket_bytes);
  // `extras` (a small float tensor: losses, flags) is averaged with the last bucket, at no extra
  // round trip.
  void average(const std::vector<torch::Tensor>& parameters, torch::Tensor& extras);
  double seconds() const { return seconds_; }  // wall time spent in average() since reset_time()
  std::int64_t calls() const { return calls_; }
  void reset_time() { seconds_ = 0, calls_ = 0; }

 private:
  Communicator& communicator_;
  std::int64_t bucket_bytes_;
  double seconds_ = 0;
  std::int64_t calls_ = 0;
};

}  // namespace faceage::train
