#include "faceage/core/shipped_path.hpp"

#include <filesystem>

#include "faceage/core/fs.hpp"

namespace faceage {

namespace fs = std::filesystem;

std::string find_shipped_path(const std::string& relative) {
  const fs::path exe_dir = executable_dir();
  for (const fs::path& candidate : {exe_dir / relative, exe_dir / ".." / relative, exe_dir / "../share/faceage" / relative}) {
    std::error_code ec;
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return {};
}

}  // namespace faceage
