#pragma once
// Name-keyed registry of factories (timm's create_model, torchvision's get_model).
// Entries are added by explicit register_*() calls, never by static self-registration
// (static libraries drop unreferenced self-registering objects).
//
//   Registry<std::unique_ptr<FaceDetector>(const DetectorOptions&)> detectors("detector");
//   detectors.add("yunet", make_yunet, "OpenCV FaceDetectorYN");
//   auto d = detectors.create("yunet", options);   // unknown name -> Error kNotFound listing names
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "faceage/core/error.hpp"

namespace faceage {

std::string join(const std::vector<std::string>& items, const std::string& separator);

template <class Signature>
class Registry;

template <class Product, class... Args>
class Registry<Product(Args...)> {
 public:
  using Factory = std::function<Product(Args...)>;

  // kind names what the entries are ("model", "detector") for error messages.
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Adds an entry; a duplicate name is a bug (kInternal).
  void add(const std::string& name, Factory factory, std::string description = {}) {
    if (entries_.count(name)) {
      throw Error(ErrorCode::kInternal, kind_ + " '" + name + "' is registered twice");
    }
    entries_.emplace(name, Entry{std::move(factory), std::move(description)});
  }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // Sorted names.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  const std::string& description(const std::string& name) const { return find(name).description; }

  Product create(const std::string& name, Args... args) const {
    return find(name).factory(std::forward<Args>(args)...);
  }

  const std::string& kind() const { return kind_; }

 private:
  struct Entry {
    Factory factory;
    std::string description;
  };

  const Entry& find(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw Error(ErrorCode::kNotFound, "unknown " + kind_ + " '" + name + "'; available: " + join(names(), ", "));
    }
    return it->second;
  }

  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace faceage
