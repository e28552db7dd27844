#include "faceage/core/config.hpp"

#include <fstream>
#include <sstream>

#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"

namespace faceage {

namespace {
std::vector<std::string> key_parts(const std::string& dotted_key) {
  auto parts = split(dotted_key, '.');
  for (const auto& part : parts) {
    if (part.empty()) throw Error(ErrorCode::kInvalidArgument, "malformed config key '" + dotted_key + "'");
  }
  return parts;
}

// yaml-cpp's operator[] on a non-const node inserts and aliases; build fresh nodes by cloning.
void merge_into(YAML::Node target, const YAML::Node& overlay) {
  for (const auto& item : overlay) {
    const std::string key = item.first.as<std::string>();
    if (item.second.IsMap() && target[key].IsMap()) {
      merge_into(target[key], item.second);
    } else {
      target[key] = YAML::Clone(item.second);
    }
  }
}
}  // namespace

Config::Config() : root_(YAML::NodeType::Map) {}
Config::Config(YAML::Node root) : root_(root.IsDefined() && !root.IsNull() ? root : YAML::Node(YAML::NodeType::Map)) {}

Config Config::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, "config file '" + path + "' cannot be opened", "check the path");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return Config(YAML::Load(buffer.str()));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kConfig, "config file '" + path + "' is not valid YAML: " + e.what());
  }
}

Config Config::from_string(const std::string& yaml) {
  try {
    return Config(YAML::Load(yaml));
  } catch (const YAML::Exception& e) {
    throw Error(ErrorCode::kConfig, std::string("config text is not valid YAML: ") + e.what());
  }
}

void Config::merge(const Config& overlay) {
  if (!overlay.root_.IsMap()) return;
  if (!root_.IsMap()) root_ = YAML::Node(YAML::NodeType::Map);
  merge_into(root_, overlay.root_);
}

void Config::set(const std::string& dotted_key, const std::string& value) {
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception&) {
    parsed = YAML::Node(value);
  }
  if (!parsed.IsDefined() || parsed.IsNull()) parsed = YAML::Node(value.empty() ? YAML::Node() : YAML::Node(value));
  auto parts = key_parts(dotted_key);
  if (!root_.IsMap()) root_ = YAML::Node(YAML::NodeType::Map);
  // Replace (not merge) the leaf: walk to the parent and assign.
  YAML::Node parent = root_;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!parent[parts[i]].IsMap()) parent[parts[i]] = YAML::Node(YAML::NodeType::Map);
    parent.reset(parent[parts[i]]);
  }
  parent[parts.back()] = parsed;
}

void Config::apply_overrides(const std::vector<std::string>& assignments) {
  for (const auto& assignment : assignments) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::kInvalidArgument, "override '" + assignment + "' is not of the form key=value",
                  "write e.g. --set train.epochs=10");
    }
    set(trim(assignment.substr(0, eq)), trim(assignment.substr(eq + 1)));
  }
}

YAML::Node Config::lookup(const std::string& dotted_key) const {
  YAML::Node current = root_;
  for (const auto& part : key_parts(dotted_key)) {
    if (!current.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& view = current;  // const operator[] never inserts
    YAML::Node next = view[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    current.reset(next);
  }
  return current;
}

bool Config::has(const std::string& dotted_key) const {
  YAML::Node node = lookup(dotted_key);
  return node.IsDefined() && !node.IsNull();
}

Config Config::sub(const std::string& dotted_key) const {
  YAML::Node node = lookup(dotted_key);
  if (!node.IsDefined() || node.IsNull()) return Config();
  return Config(YAML::Clone(node));
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  if (!root_.IsMap()) return out;
  for (const auto& item : root_) out.push_back(item.first.as<std::string>());
  return out;
}

namespace {
nlohmann::json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = node_to_json(item.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(node_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted in the source: keep it a string
      long long integer;
      double real;
      bool flag;
      if (YAML::convert<long long>::decode(node, integer)) return integer;
      if (YAML::convert<double>::decode(node, real)) return real;
      if (YAML::convert<bool>::decode(node, flag)) return flag;
      return text;
    }
    default:
      return nullptr;
  }
}

YAML::Node json_to_node(const nlohmann::json& json) {
  if (json.is_object()) {
    YAML::Node node(YAML::NodeType::Map);
    for (const auto& [key, value] : json.items()) node[key] = json_to_node(value);
    return node;
  }
  if (json.is_array()) {
    YAML::Node node(YAML::NodeType::Sequence);
    for (const auto& value : json) node.push_back(json_to_node(value));
    return node;
  }
  if (json.is_null()) return YAML::Node(YAML::NodeType::Null);
  if (json.is_string()) return YAML::Node(json.get<std::string>());
  if (json.is_boolean()) return YAML::Node(json.get<bool>());
  if (json.is_number_integer()) return YAML::Node(json.get<long long>());
  return YAML::Node(json.get<double>());
}
}  // namespace

nlohmann::json Config::to_json() const { return node_to_json(root_); }

Config Config::from_json(const nlohmann::json& json) { return Config(json_to_node(json)); }

std::string Config::dump() const {
  YAML::Emitter emitter;
  emitter << root_;
  return std::string(emitter.c_str()) + "\n";
}

void Config::save(const std::string& path) const { write_file_atomic(path, dump()); }

}  // namespace faceage
