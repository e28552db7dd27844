#pragma once
// Data-parallel training over processes and hosts (LibTorch c10d: Gloo on CPU, NCCL on CUDA
// where this LibTorch has it). A job is described by the torchrun contract, so the same binary
// runs under torchrun-style launchers, Kubeflow's PyTorchJob and SageMaker:
//   MASTER_ADDR, MASTER_PORT  where rank 0 listens (its TCP store), RANK, WORLD_SIZE, LOCAL_RANK
// plus FACEAGE_DIST_TIMEOUT_S (default 1800: a collective that waits longer fails the job),
// FACEAGE_DIST_BUCKET_MB (gradient all-reduce bucket size, default 25), FACEAGE_DIST_OVERLAP
// (1, the default: a bucket's all-reduce starts during backward as soon as its gradients are in;
// 0: all buckets start after backward, for comparison) and GLOO_SOCKET_IFNAME (the network
// interface Gloo binds; otherwise the address MASTER_ADDR reaches is used).
//
// Every rank trains on its own shard of each epoch's permutation (distributed_shard) and the
// gradients are averaged after each backward pass, so W ranks with batch B take the steps of one
// process with batch W*B (BatchNorm statistics excepted: each rank normalises with its own batch).
// Rank 0 alone writes checkpoints, metrics and bundles and validates.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace faceage::train {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_seconds = 1800;
  std::int64_t bucket_bytes = 25ll << 20;
  bool overlap = true;  // FACEAGE_DIST_OVERLAP
  std::string socket_interface;  // GLOO_SOCKET_IFNAME

  bool enabled() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
};

// Reads the torchrun variables from `environment` (name -> value; see torchrun_environment()). No
// WORLD_SIZE: one process. kConfig for values that are not numbers or a RANK outside the world.
DistributedOptions distributed_options_from_environment(const std::map<std::string, std::string>& environment);
// The variables above, read from this process's environment.
std::map<std::string, std::string> torchrun_environment();

// This rank's part of an epoch's sample order, the same on every rank: element i of the shard is
// order[i * world_size + rank], so step k of W ranks with batch B sees exactly the samples of step
// k of one process with batch W*B. drop_last: the order is cut to a multiple of world_size;
// otherwise it wraps around to its start to fill the last round, so every rank takes as many steps.
std::vector<std::size_t> distributed_shard(const std::vector<std::size_t>& order, int rank, int world_size,
                                           bool drop_last);
std::size_t distributed_shard_size(std::size_t count, int world_size, bool drop_last);

// `faceage train --nproc N`: runs `command` (argv, argv[0] an executable path) N times with the
// torchrun variables set (MASTER_ADDR 127.0.0.1, a free MASTER_PORT); the workers share this
// terminal. When a worker fails the others are stopped (SIGTERM, then SIGKILL after `grace`). Returns 0 when all succeed, else the first failure's exit status (128 + signal
// for a worker killed by a signal).
int run_local_workers(int nproc, const std::vector<std::string>& command,
                      std::chrono::seconds grace = std::chrono::seconds(10));

// A loopback TCP port nobody listens on now (the kernel's pick), for a rendezvous moments later.
int free_local_port();

// This process's own command line (from /proc/self/cmdline) with `--nproc N` / `--nproc=N` left
// out and argv[0] replaced by /proc/self/exe's target: what each local worker runs.
std::vector<std::string> own_command_line_without_nproc();

}  // namespace faceage::train
