#pragma once
// Serving from a model registry: which bundle is production, and a thread that polls the registry
// and reports when production changes (a promotion, a rollback), so the server hot-reloads.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "faceage/monitor/model_registry.hpp"

namespace faceage::serve {

// The registry's production version. kNotFound (with a hint) when the registry or a production
// version does not exist.
monitor::ModelVersion production_version(const std::string& registry_dir);

class RegistryWatcher {
 public:
  // Returns whether the new version now serves; false: it is tried again at the next tick.
  using OnChange = std::function<bool(const monitor::ModelVersion& production)>;
  using OnError = std::function<void(const std::string& message)>;
  // Polls every `interval`; calls on_change (on the watcher's thread) when the production version
  // differs from `current`, then treats it as current. A registry that cannot be read or has no
  // production version is reported through on_error (once per distinct message) and retried; the
  // server keeps serving what it has.
  RegistryWatcher(std::string registry_dir, int current, std::chrono::milliseconds interval, OnChange on_change,
                  OnError on_error = {});
  ~RegistryWatcher();  // stops and joins (waits for an on_change in progress)
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

  // The version last handed to on_change (or the initial one).
  int current() const;
  // Checks now instead of at the next tick (SIGHUP, /admin/reload); returns after the check.
  void check_now();

 private:
  void loop();
  void check();
  std::string dir_;
  std::chrono::milliseconds interval_;
  OnChange on_change_;
  OnError on_error_;
  mutable std::mutex mutex_;
  std::mutex check_mutex_;  // one check at a time (the thread and check_now)
  std::condition_variable wake_;
  bool stopping_ = false;
  int current_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace faceage::serve
