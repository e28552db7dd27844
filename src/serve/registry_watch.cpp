#include "faceage/serve/registry_watch.hpp"

#include "faceage/core/error.hpp"

namespace faceage::serve {

monitor::ModelVersion production_version(const std::string& registry_dir) {
  const monitor::ModelRegistry registry(registry_dir, /*create=*/false);
  auto production = registry.production();
  if (!production) {
    throw Error(ErrorCode::kNotFound, "the model registry " + registry_dir + " has no production version",
                "promote one: faceage registry promote V --registry " + registry_dir + " --reason ...");
  }
  return *production;
}

RegistryWatcher::RegistryWatcher(std::string registry_dir, int current, std::chrono::milliseconds interval,
                                 OnChange on_change, OnError on_error)
    : dir_(std::move(registry_dir)),
      interval_(interval),
      on_change_(std::move(on_change)),
      on_error_(std::move(on_error)),
      current_(current) {
  thread_ = std::thread([this] { loop(); });
}

RegistryWatcher::~RegistryWatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int RegistryWatcher::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

void RegistryWatcher::check_now() { check(); }

void RegistryWatcher::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    lock.unlock();
    check();
    lock.lock();
  }
}

void RegistryWatcher::check() {
  std::lock_guard<std::mutex> one_at_a_time(check_mutex_);
  std::string error;
  std::optional<monitor::ModelVersion> production;
  try {
    production = production_version(dir_);
  } catch (const std::exception& e) {
    const auto* faceage_error = dynamic_cast<const Error*>(&e);
    error = faceage_error ? faceage_error->full_message() : e.what();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error.empty()) {
      const bool repeated = error == last_error_;
      last_error_ = error;
      if (repeated || !on_error_) return;
    } else {
      last_error_.clear();
      if (production->version == current_) return;
    }
  }
  if (!error.empty()) {
    on_error_(error);
    return;
  }
  if (!on_change_(*production)) return;  // the server's reload; it logs its own failures
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = production->version;
}

}  // namespace faceage::serve
