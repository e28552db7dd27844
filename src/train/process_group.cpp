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

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>

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

struct GradientAllReducer::State {
  struct Slot {
    torch::Tensor parameter;
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // in the bucket's flat buffer
    std::int64_t numel = 0;
    unsigned hook = 0;
    bool hooked = false;
    bool arrived = false;  // this step's gradient is in the bucket
  };
  struct Bucket {
    std::vector<std::size_t> slots;
    std::int64_t numel = 0;  // of gradients; the last bucket's flat has the extras after them
    torch::Tensor flat;      // kept across steps: no allocation per step
    std::size_t pending = 0;
    std::shared_ptr<Communicator::Pending> work;
    bool in_flight = false;
  };

  State(Communicator& communicator_, Options options_) : communicator(communicator_), options(options_) {}

  Communicator& communicator;
  Options options;
  std::mutex mutex;
  std::vector<c10::TensorImpl*> identity;  // the parameters the buckets were made for, in order
  std::vector<Slot> slots;                 // in parameter order
  std::vector<Bucket> buckets;             // in start order: the last parameters first
  std::size_t next_bucket = 0;
  bool armed = false;
  std::int64_t started_during_backward = 0;
  Timings timings;

  torch::Tensor slot_view(const Slot& slot) {
    return buckets[slot.bucket].flat.narrow(0, slot.offset, slot.numel).view(slot.parameter.sizes());
  }

  // Starts the complete buckets in order, up to the first incomplete one. A hook leaves the last
  // bucket to average(), which adds the extras to it.
  void start_ready(bool from_hook) {
    while (next_bucket < buckets.size()) {
      auto& bucket = buckets[next_bucket];
      if (bucket.pending > 0 || (from_hook && next_bucket + 1 == buckets.size())) break;
      bucket.work = communicator.all_reduce_sum_async(bucket.flat);
      bucket.in_flight = true;
      ++next_bucket;
      ++timings.buckets;
      if (from_hook) ++started_during_backward, ++timings.buckets_during_backward;
    }
  }

  void on_gradient(std::size_t index, const torch::Tensor& gradient) {
    const auto start = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || !gradient.defined()) return;
    torch::NoGradGuard no_grad;
    auto& slot = slots[index];
    auto& bucket = buckets[slot.bucket];
    FACEAGE_CHECK(!bucket.in_flight && bucket.work == nullptr, ErrorCode::kInternal,
                  "a second backward pass in one data-parallel step reached gradients whose all-reduce had started");
    FACEAGE_CHECK(gradient.layout() == torch::kStrided, ErrorCode::kInternal, "sparse gradients cannot be all-reduced");
    auto view = slot_view(slot);
    view.copy_(gradient);
    // The hook sees what backward is about to add to .grad: what .grad holds already is added
    // too, so the average is of .grad as backward leaves it (nothing when the trainer released it).
    const auto& accumulated = slot.parameter.grad();
    if (accumulated.defined()) view.add_(accumulated.to(view.device(), view.scalar_type()));
    if (!slot.arrived) {
      slot.arrived = true;
      --bucket.pending;
      start_ready(/*from_hook=*/true);
    }
    timings.hook_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void remove_hooks() noexcept {
    for (auto& slot : slots) {
      if (!slot.hooked) continue;
      try {
        slot.parameter.remove_hook(slot.hook);
      } catch (...) {  // the hook is inert without the state anyway
      }
      slot.hooked = false;
    }
  }

  // Waits for collectives a failed step left running, so their buffers can be written again.
  void drain() {
    for (auto& bucket : buckets) {
      if (bucket.in_flight) {
        bucket.in_flight = false;
        communicator.wait(bucket.work);
      }
      bucket.work = nullptr;
    }
  }

  void build(const std::vector<torch::Tensor>& trainable, std::vector<c10::TensorImpl*> new_identity,
             const std::weak_ptr<State>& self) {
    remove_hooks();
    slots.clear();
    buckets.clear();
    identity = std::move(new_identity);
    std::int64_t bucket_bytes = 0;
    for (std::size_t i = trainable.size(); i-- > 0;) {
      const auto& parameter = trainable[i];
      FACEAGE_CHECK(parameter.is_leaf(), ErrorCode::kInternal, "a parameter to all-reduce is not a leaf tensor");
      const std::int64_t bytes = parameter.numel() * static_cast<std::int64_t>(parameter.element_size());
      // The open bucket's size limit: the first (last layers) is small so it starts early.
      const std::int64_t limit =
          buckets.size() == 1 ? std::min(options.first_bucket_bytes, options.bucket_bytes) : options.bucket_bytes;
      if (buckets.empty() || bucket_bytes + bytes > limit ||
          slots[buckets.back().slots.front()].parameter.scalar_type() != parameter.scalar_type()) {
        buckets.emplace_back();
        bucket_bytes = 0;
      }
      Slot slot;
      slot.parameter = parameter;
      slot.bucket = buckets.size() - 1;
      slot.offset = buckets.back().numel;
      slot.numel = parameter.numel();
      buckets.back().numel += slot.numel;
      buckets.back().slots.push_back(slots.size());
      bucket_bytes += bytes;
      slots.push_back(std::move(slot));
    }
    for (auto& bucket : buckets) {
      const auto dtype = slots[bucket.slots.front()].parameter.scalar_type();
      bucket.flat = torch::empty({bucket.numel}, torch::TensorOptions().dtype(dtype).device(communicator.device()));
    }
    if (!options.overlap) return;
    for (std::size_t index = 0; index < slots.size(); ++index) {
      slots[index].hook = slots[index].parameter.register_hook([self, index](const torch::Tensor& gradient) {
        if (auto state = self.lock()) state->on_gradient(index, gradient);
      });
      slots[index].hooked = true;
    }
  }
};

GradientAllReducer::GradientAllReducer(Communicator& communicator, Options options)
    : state_(std::make_shared<State>(communicator, options)) {
  state_->options.bucket_bytes = std::max<std::int64_t>(1, options.bucket_bytes);
  state_->options.first_bucket_bytes = std::max<std::int64_t>(1, options.first_bucket_bytes);
}

GradientAllReducer::~GradientAllReducer() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->remove_hooks();
}

void GradientAllReducer::prepare(const std::vector<torch::Tensor>& parameters) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto& state = *state_;
  state.drain();
  std::vector<torch::Tensor> trainable;
  std::vector<c10::TensorImpl*> identity;
  for (const auto& parameter : parameters) {
    if (!parameter.requires_grad()) continue;
    trainable.push_back(parameter);
    identity.push_back(parameter.unsafeGetTensorImpl());
  }
  if (identity != state.identity) state.build(trainable, std::move(identity), state_);
  for (auto& slot : state.slots) slot.arrived = false;
  for (auto& bucket : state.buckets) bucket.pending = bucket.slots.size();
  state.next_bucket = 0;
  state.started_during_backward = 0;
  state.armed = true;
}

void GradientAllReducer::average(torch::Tensor& extras) {
  const auto start = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(state_->mutex);
  auto& state = *state_;
  FACEAGE_CHECK(state.armed, ErrorCode::kInternal, "GradientAllReducer::average() without prepare() before backward");
  state.armed = false;
  torch::NoGradGuard no_grad;
  // Parameters whose hook did not run (no gradient on this rank, or overlap off) give their .grad.
  for (auto& slot : state.slots) {
    if (slot.arrived) continue;
    auto view = state.slot_view(slot);
    if (slot.parameter.grad().defined()) {
      view.copy_(slot.parameter.grad());
    } else {
      view.zero_();
    }
    slot.arrived = true;
    --state.buckets[slot.bucket].pending;
  }
  const auto comm_device = state.communicator.device();
  auto extras_flat = extras.detach().to(comm_device, torch::kFloat).reshape({-1});
  const bool extras_in_bucket = !state.buckets.empty() && state.buckets.back().flat.scalar_type() == torch::kFloat;
  if (extras_in_bucket) {
    auto& last = state.buckets.back();
    if (last.flat.numel() != last.numel + extras_flat.numel()) {
      last.flat = torch::cat({last.flat.narrow(0, 0, last.numel), torch::empty_like(extras_flat)});
    }
    last.flat.narrow(0, last.numel, extras_flat.numel()).copy_(extras_flat);
  } else {
    extras_flat = extras_flat.clone();  // reduced in place: not the caller's tensor
  }
  state.start_ready(/*from_hook=*/false);
  FACEAGE_CHECK(state.next_bucket == state.buckets.size(), ErrorCode::kInternal, "a gradient bucket was not started");
  std::shared_ptr<Communicator::Pending> extras_pending;
  if (!extras_in_bucket) extras_pending = state.communicator.all_reduce_sum_async(extras_flat);
  const double world = state.communicator.world_size();
  auto wait = [&](const std::shared_ptr<Communicator::Pending>& pending) {
    const auto wait_start = std::chrono::steady_clock::now();
    state.communicator.wait(pending);
    state.timings.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  };
  for (auto& bucket : state.buckets) {
    wait(bucket.work);
    bucket.in_flight = false;
    bucket.work = nullptr;
    bucket.flat.div_(world);
    for (const auto index : bucket.slots) {
      const auto& slot = state.slots[index];
      auto& grad = slot.parameter.mutable_grad();
      if (!grad.defined()) grad = torch::zeros_like(slot.parameter);
      grad.copy_(state.slot_view(slot));
    }
  }
  if (extras_in_bucket) {
    const auto& last = state.buckets.back();
    extras_flat = last.flat.narrow(0, last.numel, extras_flat.numel());
  } else {
    wait(extras_pending);
    extras_flat.div_(world);
  }
  extras.copy_(extras_flat.view(extras.sizes()));
  state.timings.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++state.timings.calls;
}

std::int64_t GradientAllReducer::buckets_started_during_backward() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->started_during_backward;
}

std::size_t GradientAllReducer::bucket_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->buckets.size();
}

const GradientAllReducer::Timings& GradientAllReducer::timings() const { return state_->timings; }

void GradientAllReducer::reset_time() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->timings = Timings{};
}

}  // namespace faceage::train
