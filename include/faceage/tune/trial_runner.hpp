#pragma once
// A trial is an ordinary training run in its own directory, started as a subprocess from a
// command template; the tuner only starts it, tails its metrics.jsonl and may stop it.
//
// Template tokens (each argv element is expanded separately):
//   {faceage}      the faceage executable        {base_config}  absolute base training config
//   {trial_dir}    the trial's run directory     {study_dir}    the study directory
//   {trial}        the trial number               {overrides}    expands to "--set", "k=v", ... (fixed + params)
// Default: {faceage} train --config {base_config} --run-dir {trial_dir} {overrides}
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceage::tune {

std::vector<std::string> default_trial_command();

// Expands the template; {overrides} becomes 2 arguments per assignment.
std::vector<std::string> expand_command(const std::vector<std::string>& command_template,
                                        const std::map<std::string, std::string>& tokens,
                                        const std::vector<std::string>& overrides);

// A child process in its own process group, stdout and stderr appended to `log_path`, killed by
// the kernel (PR_SET_PDEATHSIG) if the tuner dies, so a SIGKILLed tuner leaves no orphan trials.
class Subprocess {
 public:
  // kNotFound when argv[0] cannot be executed (reported through a pipe from the child).
  static Subprocess spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path);
  Subprocess() = default;
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  ~Subprocess();  // terminates a still-running child

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_status_; }
  // Non-blocking; the exit status (shell convention: 128 + signal when killed) once it has exited.
  std::optional<int> poll();
  // SIGTERM to the process group, then SIGKILL after `grace_s`; waits for the exit.
  int terminate(double grace_s = 5.0);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Reads complete new lines of a growing JSONL file (a torn last line waits for its newline).
class JsonlTail {
 public:
  explicit JsonlTail(std::string path) : path_(std::move(path)) {}
  // New complete lines since the last call; unparsable lines come back as null json with the text.
  std::vector<std::pair<nlohmann::json, std::string>> read_new();

 private:
  std::string path_;
  std::size_t offset_ = 0;
  std::string partial_;
};

}  // namespace faceage::tune
