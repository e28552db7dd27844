// FACEAGE_HAVE_C10D_GLOO / FACEAGE_HAVE_C10D_NCCL come from CMake (cmake/FaceageDependencies.cmake)
// when this LibTorch ships the c10d headers and Gloo's (Debian: libtorch-dev + libgloo-dev).
#ifdef FACEAGE_HAVE_C10D_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#endif
#ifdef FACEAGE_HAVE_C10D_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#endif

#include "train/process_group.hpp"

#include <torch/version.h>

#include <chrono>
#include <functional>

#ifdef FACEAGE_HAVE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef FACEAGE_HAVE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "faceage/core/check.hpp"

namespace faceage::train {

namespace {

const char* const kPeerLostHint =
    "a worker died, was stopped, or the network failed; run the same command again (or `faceage train --resume "
    "RUN_DIR`) to continue from the last checkpoint";

// Runs a c10d call and turns its failures (c10::Error, gloo's exceptions) into faceage errors.
template <typename Call>
auto collective(const char* what, int rank, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (const auto newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
    throw Error(ErrorCode::kIo, "distributed training, rank " + std::to_string(rank) + ": " + what + " failed: " + message,
                kPeerLostHint);
  }
}

}  // namespace

#ifdef FACEAGE_HAVE_C10D_GLOO

#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<CollectiveGroup> group;
};

struct Communicator::Pending {
  c10::intrusive_ptr<c10d::Work> work;
  std::vector<torch::Tensor> tensors;  // kept alive until finished
};

namespace {

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

Communicator::Communicator(const DistributedOptions& options, const torch::Device& device)
    : options_(options), device_(torch::kCPU), impl_(std::make_unique<Impl>()) {
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(options.timeout_seconds * 1000));
  const std::string joining = "joining the job at " + options.master_addr + ":" + std::to_string(options.master_port);
  collective(joining.c_str(), options.rank, [&] {
               c10d::TCPStoreOptions store_options;
               store_options.port = static_cast<std::uint16_t>(options.master_port);
               store_options.isServer = options.rank == 0;
               store_options.numWorkers = static_cast<std::size_t>(options.world_size);
               store_options.waitWorkers = true;
               store_options.timeout = timeout;
               impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
#ifdef FACEAGE_HAVE_C10D_NCCL
               if (device.is_cuda()) {
                 auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
                 nccl_options->timeout = timeout;
                 impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, options.rank,
                                                                             options.world_size, nccl_options);
                 backend_ = "nccl";
                 device_ = device;
                 return;
               }
#endif
               auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
               if (!options.socket_interface.empty()) {
                 gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(options.socket_interface));
               } else if (is_loopback(options.master_addr)) {
                 gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
               } else {
                 gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
               }
               gloo_options->threads = 2;
               impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank, options.world_size,
                                                                           gloo_options);
               backend_ = "gloo";
             });
  (void)device;
}

Communicator::~Communicator() = default;
bool Communicator::available() { return true; }

std::shared_ptr<Communicator::Pending> Communicator::all_reduce_sum_async(torch::Tensor tensor) {
  auto pending = std::make_shared<Pending>();
  pending->tensors = {std::move(tensor)};
  pending->work = collective("all-reduce", rank(), [&] { return impl_->group->allreduce(pending->tensors); });
  return pending;
}

void Communicator::wait(const std::shared_ptr<Pending>& pending) {
  collective("all-reduce", rank(), [&] { return pending->work->wait(); });
}

void Communicator::broadcast(torch::Tensor tensor, int root) {
  std::vector<torch::Tensor> tensors{std::move(tensor)};
  c10d::BroadcastOptions broadcast_options;
  broadcast_options.rootRank = root;
  collective("broadcast", rank(), [&] { return impl_->group->broadcast(tensors, broadcast_options)->wait(); });
}

void Communicator::barrier() {
  collective("barrier", rank(), [&] { return impl_->group->barrier()->wait(); });
}

void Communicator::main_done(const std::string& key) {
  collective("store set", rank(), [&] {
    impl_->store->set("faceage/" + key, std::vector<std::uint8_t>{1});
    return 0;
  });
}

void Communicator::wait_for_main(const std::string& key) {
  // Polls with the collective timeout, so a dead rank 0 (its store gone) fails the wait.
  collective("waiting for rank 0", rank(), [&] {
    while (true) {
      try {
        impl_->store->wait({"faceage/" + key}, std::chrono::milliseconds(static_cast<std::int64_t>(options_.timeout_seconds * 1000)));
        return 0;
      } catch (const std::exception& e) {
        // A wait that timed out with rank 0 still alive: rank 0 is still working; wait again.
        if (std::string(e.what()).find("imeout") == std::string::npos) throw;
      }
    }
  });
}

#else  // no c10d Gloo in this LibTorch

struct Communicator::Impl {};
struct Communicator::Pending {};

Communicator::Communicator(const DistributedOptions& options, const torch::Device&)
    : options_(options), device_(torch::kCPU) {
  throw Error(ErrorCode::kConfig,
              "WORLD_SIZE=" + std::to_string(options.world_size) +
                  ": this faceage was built without LibTorch's c10d Gloo headers, so it trains in one process only",
              "build against Debian's libtorch-dev with libgloo-dev installed");
}
Communicator::~Communicator() = default;
bool Communicator::available() { return false; }
std::shared_ptr<Communicator::Pending> Communicator::all_reduce_sum_async(torch::Tensor) { return nullptr; }
void Communicator::wait(const std::shared_ptr<Pending>&) {}
void Communicator::broadcast(torch::Tensor, int) {}
void Communicator::barrier() {}
void Communicator::main_done(const std::string&) {}
void Communicator::wait_for_main(const std::string&) {}

#endif

void broadcast_module_state(Communicator& communicator, torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto sync = [&](torch::Tensor tensor) {
    if (!tensor.defined()) return;
    if (tensor.device() == communicator.device() && tensor.is_contiguous()) {
      communicator.broadcast(tensor);
      return;
    }
    auto staged = tensor.to(communicator.device()).contiguous();
    communicator.broadcast(staged);
    tensor.copy_(staged);
  };
  for (auto& parameter : module.parameters(true)) sync(parameter);
  for (auto& buffer : module.buffers(true)) sync(buffer);
}

GradientAllReducer::GradientAllReducer(Communicator& communicator, std::int64_t bucket_bytes)
    : communicator_(communicator), bucket_bytes_(std::max<std::int64_t>(1, bucket_bytes)) {}

void GradientAllReducer::average(const std::vector<torch::Tensor>& parameters, torch::Tensor& extras) {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> trainable;
  for (const auto& parameter : parameters) {
    if (!parameter.requires_grad()) continue;
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    trainable.push_back(parameter);
  }
  // Buckets of consecutive parameters of one dtype; the extras ride in the last one.
  struct Bucket {
    std::vector<torch::Tensor> grads;
    torch::Tensor flat;
    std::shared_ptr<Communicator::Pending> pending;
  };
  std::vector<Bucket> buckets;
  std::int64_t bucket_bytes = 0;
  for (const auto& parameter : trainable) {
    const auto& grad = parameter.grad();
    const std::int64_t bytes = grad.numel() * static_cast<std::int64_t>(grad.element_size());
    if (buckets.empty() || bucket_bytes + bytes > bucket_bytes_ ||
        buckets.back().grads.front().scalar_type() != grad.scalar_type()) {
      buckets.emplace_back();
      bucket_bytes = 0;
    }
    buckets.back().grads.push_back(grad);
    bucket_bytes += bytes;
  }
  const auto comm_device = communicator_.device();
  auto extras_flat = extras.detach().to(comm_device, torch::kFloat).reshape({-1});
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    auto& bucket = buckets[b];
    std::vector<torch::Tensor> pieces;
    for (const auto& grad : bucket.grads) pieces.push_back(grad.reshape({-1}).to(comm_device));
    if (b + 1 == buckets.size() && bucket.grads.front().scalar_type() == torch::kFloat) pieces.push_back(extras_flat);
    bucket.flat = torch::cat(pieces);
    bucket.pending = communicator_.all_reduce_sum_async(bucket.flat);
  }
  const bool extras_in_bucket = !buckets.empty() && buckets.back().grads.front().scalar_type() == torch::kFloat;
  std::shared_ptr<Communicator::Pending> extras_pending;
  if (!extras_in_bucket) extras_pending = communicator_.all_reduce_sum_async(extras_flat);
  const double world = communicator_.world_size();
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    auto& bucket = buckets[b];
    communicator_.wait(bucket.pending);
    bucket.flat.div_(world);
    std::int64_t offset = 0;
    for (auto& grad : bucket.grads) {
      grad.copy_(bucket.flat.narrow(0, offset, grad.numel()).view(grad.sizes()));
      offset += grad.numel();
    }
    if (b + 1 == buckets.size() && extras_in_bucket) extras_flat = bucket.flat.narrow(0, offset, extras_flat.numel());
  }
  if (extras_pending) {
    communicator_.wait(extras_pending);
    extras_flat.div_(world);
  }
  extras.copy_(extras_flat.view(extras.sizes()));
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++calls_;
}

}  // namespace faceage::train
