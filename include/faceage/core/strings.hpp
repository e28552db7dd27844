#pragma once
#include <string>
#include <vector>

namespace faceage {

std::vector<std::string> split(const std::string& text, char separator);
std::string trim(const std::string& text);
std::string to_lower(std::string text);
bool starts_with(const std::string& text, const std::string& prefix);
bool ends_with(const std::string& text, const std::string& suffix);
std::string join(const std::vector<std::string>& items, const std::string& separator);
// & < > " as HTML entities, for text placed in generated pages.
std::string html_escape(const std::string& text);

}  // namespace faceage
