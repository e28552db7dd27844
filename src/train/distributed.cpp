#include "faceage/train/distributed.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "faceage/core/check.hpp"

namespace faceage::train {

namespace {

const char* const kTorchrunVariables[] = {"MASTER_ADDR",  "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK",
                                          "GLOO_SOCKET_IFNAME", "FACEAGE_DIST_TIMEOUT_S", "FACEAGE_DIST_BUCKET_MB",
                                          "FACEAGE_DIST_OVERLAP"};

std::string value_or(const std::map<std::string, std::string>& environment, const std::string& key,
                     const std::string& fallback) {
  const auto it = environment.find(key);
  return it != environment.end() && !it->second.empty() ? it->second : fallback;
}

double number_from(const std::map<std::string, std::string>& environment, const std::string& key, double fallback) {
  const std::string text = value_or(environment, key, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  FACEAGE_CHECK(end != text.c_str() && *end == '\0', ErrorCode::kConfig,
                "environment variable " << key << "='" << text << "' is not a number");
  return value;
}

int int_from(const std::map<std::string, std::string>& environment, const std::string& key, int fallback) {
  const double value = number_from(environment, key, fallback);
  FACEAGE_CHECK(value == static_cast<int>(value), ErrorCode::kConfig,
                "environment variable " << key << " must be a whole number, got " << value);
  return static_cast<int>(value);
}

}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  FACEAGE_CHECK(fd >= 0, ErrorCode::kIo, "cannot open a socket: " << std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  FACEAGE_CHECK(ok, ErrorCode::kIo, "cannot find a free local port: " << std::strerror(errno));
  return ntohs(address.sin_port);
}

namespace {

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace

std::map<std::string, std::string> torchrun_environment() {
  std::map<std::string, std::string> environment;
  for (const char* name : kTorchrunVariables) {
    if (const char* value = std::getenv(name)) environment[name] = value;
  }
  return environment;
}

DistributedOptions distributed_options_from_environment(const std::map<std::string, std::string>& environment) {
  DistributedOptions options;
  options.world_size = int_from(environment, "WORLD_SIZE", 1);
  options.rank = int_from(environment, "RANK", 0);
  options.local_rank = int_from(environment, "LOCAL_RANK", 0);
  options.master_addr = value_or(environment, "MASTER_ADDR", options.master_addr);
  options.master_port = int_from(environment, "MASTER_PORT", options.master_port);
  options.timeout_seconds = number_from(environment, "FACEAGE_DIST_TIMEOUT_S", options.timeout_seconds);
  options.bucket_bytes = static_cast<std::int64_t>(number_from(environment, "FACEAGE_DIST_BUCKET_MB", 25) * (1 << 20));
  const int overlap = int_from(environment, "FACEAGE_DIST_OVERLAP", 1);
  FACEAGE_CHECK(overlap == 0 || overlap == 1, ErrorCode::kConfig, "FACEAGE_DIST_OVERLAP must be 0 or 1, got " << overlap);
  options.overlap = overlap == 1;
  options.socket_interface = value_or(environment, "GLOO_SOCKET_IFNAME", "");
  FACEAGE_CHECK(options.world_size >= 1, ErrorCode::kConfig, "WORLD_SIZE must be >= 1, got " << options.world_size);
  FACEAGE_CHECK(options.rank >= 0 && options.rank < options.world_size, ErrorCode::kConfig,
                "RANK must be in [0, WORLD_SIZE=" << options.world_size << "), got " << options.rank);
  FACEAGE_CHECK(options.master_port > 0 && options.master_port < 65536, ErrorCode::kConfig,
                "MASTER_PORT must be a TCP port, got " << options.master_port);
  FACEAGE_CHECK(options.timeout_seconds > 0, ErrorCode::kConfig, "FACEAGE_DIST_TIMEOUT_S must be > 0");
  FACEAGE_CHECK(options.bucket_bytes > 0, ErrorCode::kConfig, "FACEAGE_DIST_BUCKET_MB must be > 0");
  return options;
}

std::size_t distributed_shard_size(std::size_t count, int world_size, bool drop_last) {
  const auto world = static_cast<std::size_t>(world_size);
  return drop_last ? count / world : (count + world - 1) / world;
}

std::vector<std::size_t> distributed_shard(const std::vector<std::size_t>& order, int rank, int world_size,
                                           bool drop_last) {
  FACEAGE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, ErrorCode::kInternal,
                "rank " << rank << " outside a world of " << world_size);
  std::vector<std::size_t> shard;
  if (order.empty()) return shard;
  const std::size_t size = distributed_shard_size(order.size(), world_size, drop_last);
  shard.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    shard.push_back(order[(i * static_cast<std::size_t>(world_size) + static_cast<std::size_t>(rank)) % order.size()]);
  }
  return shard;
}

std::vector<std::string> own_command_line_without_nproc() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = text.find('\0', begin);
    args.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  FACEAGE_CHECK(!args.empty(), ErrorCode::kIo, "cannot read this process's command line (/proc/self/cmdline)");
  std::vector<std::string> command{std::filesystem::read_symlink("/proc/self/exe").string()};
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
    } else if (args[i].rfind("--nproc=", 0) != 0) {
      command.push_back(args[i]);
    }
  }
  return command;
}

int run_local_workers(int nproc, const std::vector<std::string>& command, std::chrono::seconds grace) {
  FACEAGE_CHECK(nproc >= 1, ErrorCode::kInvalidArgument, "--nproc must be >= 1, got " << nproc);
  FACEAGE_CHECK(!command.empty(), ErrorCode::kInternal, "run_local_workers: no command");
  const std::string port = std::to_string(free_local_port());
  std::vector<pid_t> workers;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = ::fork();
    FACEAGE_CHECK(pid >= 0, ErrorCode::kIo, "cannot start worker " << rank << ": " << std::strerror(errno));
    if (pid == 0) {
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      std::vector<char*> argv;
      for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    workers.push_back(pid);
  }
  // Ctrl-C reaches the workers from the terminal, and they stop at the same step (checkpointed):
  // the launcher waits for them instead of dying first.
  const auto previous_sigint = ::signal(SIGINT, SIG_IGN);
  int result = 0;
  std::size_t running = workers.size();
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, stop_deadline == std::chrono::steady_clock::time_point::max() ? 0 : WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {
      if (std::chrono::steady_clock::now() > stop_deadline) {
        for (pid_t worker : workers) {
          if (worker > 0) ::kill(worker, SIGKILL);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (pid_t& worker : workers) {
      if (worker != pid) continue;
      worker = -1;
      --running;
      const int code = exit_status_of(status);
      if (code != 0 && result == 0) {
        result = code;
        // The others would fail at their next collective anyway; stopping them now is quicker.
        for (pid_t other : workers) {
          if (other > 0) ::kill(other, SIGTERM);
        }
        stop_deadline = std::chrono::steady_clock::now() + grace;
      }
    }
  }
  ::signal(SIGINT, previous_sigint);
  return result;
}

}  // namespace faceage::train
