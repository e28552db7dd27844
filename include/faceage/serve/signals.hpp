#pragma once
// Turns POSIX signals into calls on an ordinary thread (the self-pipe trick): the async-signal
// handler only writes the signal number to a pipe; a watcher thread owned by this object reads it
// and calls `handler`. The pipe's write end is the one piece of process-wide state, because a
// signal handler can reach nothing else. One SignalWatcher may exist at a time (kInternal
// otherwise); the previous signal dispositions are restored by the destructor.
#include <signal.h>

#include <functional>
#include <thread>
#include <vector>

namespace faceage::serve {

class SignalWatcher {
 public:
  using Handler = std::function<void(int signal_number)>;
  SignalWatcher(const std::vector<int>& signals, Handler handler);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void loop();
  std::vector<int> signals_;
  std::vector<struct sigaction> previous_;
  Handler handler_;
  int read_fd_ = -1, write_fd_ = -1;
  std::thread thread_;
};

}  // namespace faceage::serve
