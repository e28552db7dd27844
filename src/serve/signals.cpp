#include "faceage/serve/signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "faceage/core/check.hpp"

namespace faceage::serve {

namespace {
// The write end of the active watcher's pipe: the only state a signal handler can reach.
std::atomic<int> g_signal_pipe{-1};

extern "C" void on_signal(int signal_number) {
  const int saved_errno = errno;
  const int fd = g_signal_pipe.load();
  if (fd >= 0) {
    const unsigned char byte = static_cast<unsigned char>(signal_number);
    // write() is async-signal-safe; a full pipe drops the signal, which is harmless here.
    [[maybe_unused]] auto written = ::write(fd, &byte, 1);
  }
  errno = saved_errno;
}
}  // namespace

SignalWatcher::SignalWatcher(const std::vector<int>& signals, Handler handler)
    : signals_(signals), handler_(std::move(handler)) {
  int fds[2];
  FACEAGE_CHECK(::pipe2(fds, O_CLOEXEC) == 0, ErrorCode::kIo, "cannot create a signal pipe: " << std::strerror(errno));
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  ::fcntl(write_fd_, F_SETFL, O_NONBLOCK);
  int expected = -1;
  if (!g_signal_pipe.compare_exchange_strong(expected, write_fd_)) {
    ::close(read_fd_);
    ::close(write_fd_);
    throw Error(ErrorCode::kInternal, "only one SignalWatcher may be active at a time");
  }
  previous_.resize(signals_.size());
  for (std::size_t i = 0; i < signals_.size(); ++i) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(signals_[i], &action, &previous_[i]);
  }
  thread_ = std::thread([this] { loop(); });
}

SignalWatcher::~SignalWatcher() {
  for (std::size_t i = 0; i < signals_.size(); ++i) ::sigaction(signals_[i], &previous_[i], nullptr);
  g_signal_pipe.store(-1);
  // Byte 0 is not a signal: it tells the watcher thread to finish.
  const unsigned char stop = 0;
  [[maybe_unused]] auto written = ::write(write_fd_, &stop, 1);
  thread_.join();
  ::close(read_fd_);
  ::close(write_fd_);
}

void SignalWatcher::loop() {
  for (;;) {
    unsigned char byte = 0;
    const auto n = ::read(read_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == 0) return;
    try {
      handler_(byte);
    } catch (...) {
      // A failing handler (e.g. a reload error already reported) must not end signal handling.
    }
  }
}

}  // namespace faceage::serve
