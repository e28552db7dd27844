#include <iostream>

#include "commands/commands.hpp"

namespace faceage::cli {

Context CliState::make_context() const {
  ContextOptions options = context_options;
  if (quiet && options.log_level == "info") options.log_level = "warn";
  return Context::make(options);
}

void add_version_command(CLI::App& app, CliState& state) {
  auto* cmd = app.add_subcommand("version", "print the faceage version");
  cmd->callback([&state] {
    std::cout << "faceage " << FACEAGE_VERSION << "\n";
#if defined(FACEAGE_WITH_JEMALLOC)
    std::cout << "allocator: jemalloc\n";
#else
    std::cout << "allocator: system malloc\n";
#endif
    state.exit_code = 0;
  });
}

}  // namespace faceage::cli
