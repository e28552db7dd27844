#pragma once
// A minimal reader for the pickles inside torch.save zip files (private to the models module).
// It understands the opcodes Python's pickle protocols 2-4 use for state dicts, maps
// collections.OrderedDict to a dict, rebuilds tensors with torch._utils._rebuild_tensor_v2 and
// turns every other callable into an opaque object, so unknown content never aborts a load.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faceage::models::detail {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor, kObject };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;     // string value; "module.name" for globals and objects
  std::vector<PyRef> items;                          // tuple, list, object arguments
  std::vector<std::pair<PyRef, PyRef>> entries;      // dict, in insertion order
  torch::Tensor tensor;
};

// Returns the raw bytes of storage `key` (the zip record "data/<key>").
using StorageLoader = std::function<std::pair<at::DataPtr, size_t>(const std::string& key)>;

// Parses one pickle. Throws faceage::Error(kModel) on malformed or truncated input.
PyRef unpickle(const char* data, size_t size, const StorageLoader& load_storage);

}  // namespace faceage::models::detail
