#include "faceage/serve/signals.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "faceage/core/error.hpp"

namespace faceage::serve {
namespace {

TEST(SignalWatcher, DeliversSignalsOnItsOwnThreadAndRestoresHandlers) {
  std::atomic<int> received{0};
  std::atomic<bool> on_other_thread{false};
  const auto main_thread = std::this_thread::get_id();
  {
    SignalWatcher watcher({SIGHUP, SIGUSR1}, [&](int signal_number) {
      on_other_thread = std::this_thread::get_id() != main_thread;
      received = signal_number;
    });
    ::raise(SIGUSR1);
    for (int i = 0; i < 200 && received == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(received, SIGUSR1);
    EXPECT_TRUE(on_other_thread);
    EXPECT_THROW(SignalWatcher({SIGUSR2}, [](int) {}), Error) << "only one watcher at a time";
  }
  struct sigaction current {};
  ::sigaction(SIGUSR1, nullptr, &current);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace faceage::serve
