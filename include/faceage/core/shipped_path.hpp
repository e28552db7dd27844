#pragma once
// Files shipped with faceage (the default model, the YuNet face detector), found beside the program.
#include <string>

namespace faceage {

// A file or folder shipped with faceage (e.g. "models/default.fab"), looked up beside the program
// as a build tree or an install lays it out: <exe>/R, <exe>/../R, <exe>/../share/faceage/R.
// The first that exists (canonical path), or "" when none does.
std::string find_shipped_path(const std::string& relative);

}  // namespace faceage
