// SPDX-License-Identifier: Apache-2.0
#include "faceage/train/distributed.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>

#include "support/error_code.hpp"
#include "train/process_group.hpp"

namespace faceage::train {
namespace {

std::vector<std::size_t> iota_vector(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), 100);
  return v;
}

TEST(DistributedShard, RanksTakeDisjointEqualSlicesWhoseStepsMatchOneBigBatch) {
  const auto order = iota_vector(37);
  const int world = 3;
  const std::size_t batch = 4;
  std::vector<std::vector<std::size_t>> shards;
  std::set<std::size_t> seen;
  for (int rank = 0; rank < world; ++rank) {
    shards.push_back(distributed_shard(order, rank, world, /*drop_last=*/true));
    EXPECT_EQ(shards.back().size(), 12u);
    for (auto index : shards.back()) EXPECT_TRUE(seen.insert(index).second) << index << " in two shards";
  }
  // Step k of the ranks (batch B each) covers exactly step k of one process with batch W*B.
  for (std::size_t step = 0; step < 12 / batch; ++step) {
    std::set<std::size_t> ranks_step, single_step(order.begin() + step * batch * world,
                                                   order.begin() + (step + 1) * batch * world);
    for (const auto& shard : shards) ranks_step.insert(shard.begin() + step * batch, shard.begin() + (step + 1) * batch);
    EXPECT_EQ(ranks_step, single_step) << "step " << step;
  }
}

TEST(DistributedShard, WithoutDropLastWrapsToEqualLengths) {
  const auto order = iota_vector(5);
  EXPECT_EQ(distributed_shard(order, 0, 2, false), (std::vector<std::size_t>{100, 102, 104}));
  EXPECT_EQ(distributed_shard(order, 1, 2, false), (std::vector<std::size_t>{101, 103, 100}));
  EXPECT_EQ(distributed_shard(order, 1, 2, true), (std::vector<std::size_t>{101, 103}));
  EXPECT_EQ(distributed_shard(order, 0, 1, true), order);
  EXPECT_TRUE(distributed_shard({}, 0, 2, false).empty());
  EXPECT_EQ(distributed_shard_size(5, 2, false), 3u);
  EXPECT_EQ(distributed_shard_size(5, 2, true), 2u);
}

TEST(DistributedOptions, TorchrunVariables) {
  auto options = distributed_options_from_environment({});
  EXPECT_FALSE(options.enabled());
  options = distributed_options_from_environment({{"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "23456"}, {"RANK", "3"},
                                                  {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                                  {"FACEAGE_DIST_TIMEOUT_S", "60"}, {"FACEAGE_DIST_BUCKET_MB", "1"}});
  EXPECT_TRUE(options.enabled());
  EXPECT_FALSE(options.is_main());
  EXPECT_EQ(options.master_addr, "10.0.0.2");
  EXPECT_EQ(options.master_port, 23456);
  EXPECT_EQ(options.rank, 3);
  EXPECT_EQ(options.local_rank, 1);
  EXPECT_EQ(options.timeout_seconds, 60);
  EXPECT_EQ(options.bucket_bytes, 1 << 20);
  using faceage::testing::error_of;
  EXPECT_EQ(error_of([] { distributed_options_from_environment({{"WORLD_SIZE", "2"}, {"RANK", "2"}}); }), ErrorCode::kConfig);
  EXPECT_EQ(error_of([] { distributed_options_from_environment({{"WORLD_SIZE", "two"}}); }), ErrorCode::kConfig);
  EXPECT_EQ(error_of([] { distributed_options_from_environment({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "0"}}); }),
            ErrorCode::kConfig);
}

TEST(LocalWorkers, EachGetsItsRankAndTheFirstFailureIsReturned) {
  // Rank r exits with r + 3 when it sees the torchrun variables: the first failure is rank 0's 3...
  // or rank 1's 4, whichever ends first; both are failures.
  const int status = run_local_workers(
      2, {"/bin/sh", "-c", "[ \"$WORLD_SIZE\" = 2 ] && [ \"$MASTER_ADDR\" = 127.0.0.1 ] && [ -n \"$MASTER_PORT\" ] && exit $((RANK + 3))"});
  EXPECT_TRUE(status == 3 || status == 4) << status;
  EXPECT_EQ(run_local_workers(3, {"/bin/sh", "-c", "[ \"$LOCAL_RANK\" = \"$RANK\" ]"}), 0);
}

TEST(LocalWorkers, AFailedWorkerStopsTheOthers) {
  const auto start = std::chrono::steady_clock::now();
  const int status = run_local_workers(2, {"/bin/sh", "-c", "if [ $RANK = 1 ]; then exit 7; fi; exec sleep 60"},
                                       std::chrono::seconds(2));
  EXPECT_EQ(status, 7);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Two ranks as two threads of this process.
template <typename Body>
void run_two_ranks(double timeout_seconds, Body body) {
  const int port = free_local_port();
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> failures(2);
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DistributedOptions options;
        options.rank = rank;
        options.world_size = 2;
        options.master_port = port;
        options.timeout_seconds = timeout_seconds;
        Communicator communicator(options, torch::kCPU);
        body(communicator);
      } catch (...) {
        failures[rank] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

TEST(GradientAllReducer, AveragesGradientsAndExtrasInSmallBuckets) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  run_two_ranks(30, [](Communicator& communicator) {
    const float r = static_cast<float>(communicator.rank());
    // A channels-last 4-D parameter, a frozen one, one without a gradient on rank 1 only.
    auto conv = torch::zeros({2, 3, 2, 2}).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
    auto frozen = torch::zeros({3});
    auto sometimes = torch::zeros({5}, torch::requires_grad());
    auto big = torch::zeros({1000}, torch::requires_grad());
    conv.mutable_grad() = torch::arange(24, torch::kFloat).view({2, 3, 2, 2}).contiguous(torch::MemoryFormat::ChannelsLast) * (r + 1);
    if (r == 0) sometimes.mutable_grad() = torch::full({5}, 4.0f);
    big.mutable_grad() = torch::full({1000}, r);
    auto extras = torch::tensor({r, 10 * r});
    // No backward here: no hook runs, so every parameter gives its .grad as set above.
    GradientAllReducer reducer(communicator, {/*bucket_bytes=*/64, /*first_bucket_bytes=*/64, /*overlap=*/true});
    reducer.prepare({conv, frozen, sometimes, big});
    reducer.average(extras);
    EXPECT_TRUE(torch::allclose(conv.grad(), torch::arange(24, torch::kFloat).view({2, 3, 2, 2}) * 1.5));
    EXPECT_FALSE(frozen.grad().defined());
    EXPECT_TRUE(torch::allclose(sometimes.grad(), torch::full({5}, 2.0f)));
    EXPECT_TRUE(torch::allclose(big.grad(), torch::full({1000}, 0.5f)));
    EXPECT_TRUE(torch::allclose(extras, torch::tensor({0.5f, 5.0f})));
    EXPECT_EQ(reducer.calls(), 1);
  });
}

// A small network whose weights are set without the random generator (both ranks run in one
// process and would race on it), plus a parameter only rank 0's loss uses and a frozen one.
struct SmallNet {
  torch::nn::Sequential body{torch::nn::Linear(6, 32), torch::nn::Tanh(), torch::nn::Linear(32, 32), torch::nn::Tanh(),
                             torch::nn::Linear(32, 3)};
  torch::Tensor only_rank0 = torch::zeros({7}, torch::requires_grad());
  torch::Tensor frozen = torch::zeros({3});

  SmallNet() {
    torch::NoGradGuard no_grad;
    int i = 0;
    for (auto& parameter : parameters()) {
      parameter.copy_(torch::sin(torch::arange(parameter.numel(), torch::kFloat) * 0.37 + i++).view_as(parameter) * 0.5);
    }
  }
  std::vector<torch::Tensor> parameters() {
    auto all = body->parameters();
    all.push_back(only_rank0);
    all.push_back(frozen);
    return all;
  }
  torch::Tensor first_weight() { return body->named_parameters()["0.weight"]; }
  // Step 2 freezes the first layer's weight, as a frozen backbone would.
  void set_step(int step) { first_weight().requires_grad_(step != 2); }
  torch::Tensor loss(int rank, int step) {
    auto input = torch::sin(torch::arange(24, torch::kFloat).view({4, 6}) * (1.0 + rank + 2.0 * step));
    auto loss = body->forward(input).pow(2).mean() + frozen.sum();
    if (rank == 0) loss = loss + (only_rank0 * (step + 1.0)).pow(2).sum();
    return loss;
  }
};

// Rank `rank`'s own gradients at `step`, none → zeros; undefined for a parameter that is frozen.
std::vector<torch::Tensor> local_gradients(int rank, int step) {
  SmallNet net;
  net.set_step(step);
  net.loss(rank, step).backward();
  std::vector<torch::Tensor> gradients;
  for (auto& parameter : net.parameters()) {
    if (!parameter.requires_grad()) {
      gradients.emplace_back();
    } else {
      gradients.push_back(parameter.grad().defined() ? parameter.grad().clone() : torch::zeros_like(parameter));
    }
  }
  return gradients;
}

TEST(GradientAllReducer, OverlappedAverageEqualsAveragingByHand) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  for (const bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "overlap" : "after backward");
    run_two_ranks(30, [overlap](Communicator& communicator) {
      const int rank = communicator.rank();
      SmallNet net;
      auto parameters = net.parameters();
      // Tiny buckets: several of them, the first (last layers) holding only_rank0, which rank 1
      // never gives a gradient, so rank 1 can start no bucket before average().
      GradientAllReducer reducer(communicator, {/*bucket_bytes=*/256, /*first_bucket_bytes=*/64, overlap});
      for (int step = 0; step < 3; ++step) {
        SCOPED_TRACE("step " + std::to_string(step));
        net.set_step(step);
        for (auto& parameter : parameters) {  // step 0: no .grad yet; later ones: zeroed as zero_grad does
          if (parameter.grad().defined()) parameter.mutable_grad().zero_();
        }
        const auto frozen_before = net.first_weight().grad().defined() ? net.first_weight().grad().clone() : torch::Tensor();
        reducer.prepare(parameters);
        net.loss(rank, step).backward();
        auto extras = torch::tensor({static_cast<float>(rank), static_cast<float>(step)});
        reducer.average(extras);
        EXPECT_TRUE(torch::allclose(extras, torch::tensor({0.5f, static_cast<float>(step)})));
        const auto mine = local_gradients(0, step), theirs = local_gradients(1, step);
        for (std::size_t i = 0; i < parameters.size(); ++i) {
          if (!mine[i].defined()) {  // frozen: the reducer leaves it alone
            if (frozen_before.defined() && parameters[i].is_same(net.first_weight())) {
              EXPECT_TRUE(torch::equal(parameters[i].grad(), frozen_before));
            }
            continue;
          }
          ASSERT_TRUE(parameters[i].grad().defined()) << "parameter " << i;
          EXPECT_TRUE(torch::allclose(parameters[i].grad(), (mine[i] + theirs[i]) / 2, 1e-5, 1e-6))
              << "parameter " << i << " on rank " << rank;
        }
        EXPECT_FALSE(net.frozen.grad().defined());
        EXPECT_GE(reducer.bucket_count(), 5u);
        if (!overlap) {
          EXPECT_EQ(reducer.buckets_started_during_backward(), 0);
        }
      }
      EXPECT_EQ(reducer.calls(), 3);
      EXPECT_GT(local_gradients(0, 0)[6].abs().sum().item<float>(), 0);  // only_rank0 does get a gradient on rank 0
    });
  }
}

TEST(GradientAllReducer, StartsBucketsWhileBackwardIsRunning) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  run_two_ranks(30, [](Communicator& communicator) {
    SmallNet net;
    auto parameters = net.body->parameters();  // every one used on both ranks
    GradientAllReducer reducer(communicator, {/*bucket_bytes=*/256, /*first_bucket_bytes=*/64, /*overlap=*/true});
    // The first layer's weight gets its gradient last: by then the last layers' buckets must
    // have been started.
    std::int64_t started_when_first_layer_arrived = -1;
    net.first_weight().register_hook(
        [&](const torch::Tensor&) { started_when_first_layer_arrived = reducer.buckets_started_during_backward(); });
    reducer.prepare(parameters);
    net.loss(communicator.rank(), 0).backward();
    const auto started = reducer.buckets_started_during_backward();
    const auto buckets = static_cast<std::int64_t>(reducer.bucket_count());
    auto extras = torch::zeros({1});
    reducer.average(extras);
    EXPECT_GE(started_when_first_layer_arrived, 1);
    EXPECT_GE(started, started_when_first_layer_arrived);
    EXPECT_LT(started, buckets);  // the last bucket carries the extras: started in average()
    EXPECT_EQ(reducer.timings().buckets_during_backward, started);
    EXPECT_EQ(reducer.timings().buckets, buckets);
    EXPECT_GT(reducer.timings().hook_seconds, 0);
  });
}

TEST(GradientAllReducer, HooksDoNothingOnceTheReducerIsGone) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  run_two_ranks(30, [](Communicator& communicator) {
    const int rank = communicator.rank();
    SmallNet net;
    auto parameters = net.parameters();
    {
      GradientAllReducer reducer(communicator, {/*bucket_bytes=*/256, /*first_bucket_bytes=*/64, /*overlap=*/true});
      reducer.prepare(parameters);  // armed, then destroyed without a step
    }
    // Were the hooks still live, this backward would start all-reduces the other rank never
    // joins, or touch a destroyed reducer; instead each rank keeps its own gradients.
    net.loss(rank, 1).backward();
    const auto own = local_gradients(rank, 1);
    for (std::size_t i = 0; i + 1 < parameters.size(); ++i) {  // the last is the frozen one
      const auto& grad = parameters[i].grad();
      EXPECT_TRUE(torch::allclose(grad.defined() ? grad : torch::zeros_like(parameters[i]), own[i])) << "parameter " << i;
    }
  });
}

TEST(GradientAllReducer, BroadcastGivesEveryRankRankZerosModule) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  run_two_ranks(30, [](Communicator& communicator) {
    torch::manual_seed(static_cast<std::uint64_t>(communicator.rank()));  // different on purpose
    torch::nn::Sequential module(torch::nn::Conv2d(3, 4, 3), torch::nn::BatchNorm2d(4));
    {
      torch::NoGradGuard no_grad;
      module->named_buffers()["1.running_mean"].fill_(static_cast<float>(communicator.rank()) + 7);
    }
    broadcast_module_state(communicator, *module);
    auto weight = module->named_parameters()["0.weight"].clone();
    communicator.broadcast(weight);  // rank 0's weight again: equal to every rank's now
    EXPECT_TRUE(torch::equal(weight, module->named_parameters()["0.weight"]));
    EXPECT_TRUE(torch::allclose(module->named_buffers()["1.running_mean"], torch::full({4}, 7.0f)));
  });
}

TEST(GradientAllReducer, ALostPeerIsAnIoErrorNotAHang) {
  if (!Communicator::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(faceage::testing::error_of([] {
              run_two_ranks(5, [](Communicator& communicator) {
                if (communicator.rank() == 1) return;  // leaves the job: its connections close
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                communicator.all_reduce_sum(torch::ones({4}));
              });
            }),
            ErrorCode::kIo);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace faceage::train
