#include "faceage/tune/trial_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "faceage/core/check.hpp"

namespace faceage::tune {

std::vector<std::string> default_trial_command() {
  return {"{faceage}", "train", "--config", "{base_config}", "--run-dir", "{trial_dir}", "{overrides}"};
}

std::vector<std::string> expand_command(const std::vector<std::string>& command_template,
                                        const std::map<std::string, std::string>& tokens,
                                        const std::vector<std::string>& overrides) {
  std::vector<std::string> out;
  for (const auto& arg : command_template) {
    if (arg == "{overrides}") {
      for (const auto& o : overrides) {
        out.emplace_back("--set");
        out.push_back(o);
      }
      continue;
    }
    std::string expanded;
    for (std::size_t i = 0; i < arg.size();) {
      if (arg[i] == '{') {
        const auto close = arg.find('}', i);
        if (close != std::string::npos) {
          const auto it = tokens.find(arg.substr(i + 1, close - i - 1));
          if (it != tokens.end()) {
            expanded += it->second;
            i = close + 1;
            continue;
          }
        }
      }
      expanded += arg[i++];
    }
    out.push_back(std::move(expanded));
  }
  FACEAGE_CHECK(!out.empty() && !out[0].empty(), ErrorCode::kConfig, "study.command is empty");
  return out;
}

Subprocess Subprocess::spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path) {
  FACEAGE_CHECK(!argv.empty(), ErrorCode::kInvalidArgument, "no command to run");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  FACEAGE_CHECK(log_fd >= 0, ErrorCode::kIo, "cannot open trial log " << log_path << ": " << std::strerror(errno));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(log_fd);
    throw Error(ErrorCode::kIo, std::string("pipe failed: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd), ::close(pipe_fds[0]), ::close(pipe_fds[1]);
    throw Error(ErrorCode::kIo, std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the tuner already died
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      const int e = errno;
      (void)!::write(pipe_fds[1], &e, sizeof(e));
      ::_exit(127);
    }
    ::execvp(args[0], args.data());
    const int e = errno;
    (void)!::write(pipe_fds[1], &e, sizeof(e));
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(pipe_fds[1]);
  int child_errno = 0;
  const ssize_t n = ::read(pipe_fds[0], &child_errno, sizeof(child_errno));
  ::close(pipe_fds[0]);
  Subprocess p;
  p.pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    p.pid_ = -1;
    throw Error(ErrorCode::kNotFound, "cannot run trial command '" + argv[0] + "': " + std::strerror(child_errno),
                "check study.command in the study config (and the working directory)");
  }
  return p;
}

Subprocess::Subprocess(Subprocess&& other) noexcept : pid_(other.pid_), exit_status_(other.exit_status_) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (running()) terminate(0.5);
    pid_ = other.pid_;
    exit_status_ = other.exit_status_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (running()) terminate(2.0);
}

std::optional<int> Subprocess::poll() {
  if (exit_status_ || pid_ <= 0) return exit_status_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  } else if (r < 0 && errno == ECHILD) {
    exit_status_ = 255;  // reaped elsewhere: treat as failed
  }
  return exit_status_;
}

int Subprocess::terminate(double grace_s) {
  if (pid_ <= 0) return exit_status_.value_or(255);
  if (poll()) return *exit_status_;
  ::kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (poll()) return *exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_status_ = 128 + SIGKILL;
  return *exit_status_;
}

std::vector<std::pair<nlohmann::json, std::string>> JsonlTail::read_new() {
  std::vector<std::pair<nlohmann::json, std::string>> out;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return out;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size < offset_) {  // truncated (a restarted run): start again
    offset_ = 0;
    partial_.clear();
  }
  if (size == offset_) return out;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(size - offset_, '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<std::size_t>(in.gcount()));
  offset_ += chunk.size();
  partial_ += chunk;
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = partial_.substr(start, nl - start);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    out.emplace_back(j.is_discarded() ? nlohmann::json() : std::move(j), std::move(line));
  }
  partial_.erase(0, start);
  return out;
}

}  // namespace faceage::tune
