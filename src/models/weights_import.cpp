#include "faceage/models/weights_import.hpp"

#include <caffe2/serialize/inline_container.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "faceage/core/error.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/models/tensor_io.hpp"
#include "models/torch_pickle.hpp"

namespace faceage::models {
namespace {

using detail::PyRef;
using detail::PyValue;

bool is_tensor_dict(const PyValue& v) {
  if (v.kind != PyValue::Kind::kDict || v.entries.empty()) return false;
  for (const auto& [k, value] : v.entries) {
    if (k->kind != PyValue::Kind::kString || value->kind != PyValue::Kind::kTensor) return false;
  }
  return true;
}

const PyValue* find_state_dict(const PyValue& root) {
  if (is_tensor_dict(root)) return &root;
  if (root.kind != PyValue::Kind::kDict) return nullptr;
  for (const char* wrapper : {"state_dict", "model_state_dict", "model", "net", "module"}) {
    for (const auto& [k, value] : root.entries) {
      if (k->kind == PyValue::Kind::kString && k->s == wrapper && is_tensor_dict(*value)) return value.get();
    }
  }
  return nullptr;
}

std::string shape_string(c10::IntArrayRef sizes) {
  std::ostringstream os;
  os << sizes;
  return os.str();
}

std::string first_names(const std::vector<std::string>& names, size_t limit = 8) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(limit, names.size()));
  std::string out = join(shown, ", ");
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

}  // namespace

NamedTensors read_torch_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::kNotFound, "checkpoint '" + path + "' does not exist", "check the path");
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kModel, "'" + path + "' is not a torch.save zip checkpoint",
                "the pre-1.6 legacy format is not supported: re-save it in Python with torch.save(state_dict, path)");
  }
  PyRef root;
  try {
    if (!reader->hasRecord("data.pkl")) {
      throw Error(ErrorCode::kModel, "'" + path + "' has no data.pkl: not a torch.save checkpoint",
                  "TorchScript archives (torch.jit.save) are not weight checkpoints; save model.state_dict() instead");
    }
    auto [pickle, size] = reader->getRecord("data.pkl");
    detail::StorageLoader loader = [&reader](const std::string& key) {
      auto [ptr, bytes] = reader->getRecord("data/" + key);
      return std::make_pair(std::move(ptr), bytes);
    };
    root = detail::unpickle(static_cast<const char*>(pickle.get()), size, loader);
  } catch (const Error& e) {
    throw Error(ErrorCode::kModel, "cannot read checkpoint '" + path + "': " + e.what(), e.hint());
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kModel, "cannot read checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  const PyValue* state = find_state_dict(*root);
  if (!state) {
    std::vector<std::string> keys;
    if (root->kind == PyValue::Kind::kDict) {
      for (const auto& [k, v] : root->entries) {
        if (k->kind == PyValue::Kind::kString) keys.push_back(k->s);
      }
    }
    throw Error(ErrorCode::kModel,
                "checkpoint '" + path + "' holds no dict of tensors" +
                    (keys.empty() ? std::string() : " (top-level keys: " + first_names(keys) + ")"),
                "save a state dict: torch.save(model.state_dict(), path)");
  }
  NamedTensors out;
  out.reserve(state->entries.size());
  for (const auto& [k, v] : state->entries) out.emplace_back(k->s, v->tensor);
  return out;
}

std::string ImportReport::to_string() const {
  std::ostringstream os;
  os << "loaded " << loaded.size() << " tensors";
  if (!stripped_prefix.empty()) os << " (stripped prefix '" << stripped_prefix << "')";
  if (!missing.empty()) os << "\nmissing (" << missing.size() << "): " << first_names(missing);
  if (!unexpected.empty()) os << "\nunexpected (" << unexpected.size() << "): " << first_names(unexpected);
  if (!shape_mismatch.empty()) os << "\nshape mismatch (" << shape_mismatch.size() << "): " << first_names(shape_mismatch, 4);
  return os.str();
}

ImportReport load_state_dict(torch::nn::Module& module, const NamedTensors& state, const ImportOptions& options) {
  ImportReport report;
  // DataParallel / DistributedDataParallel checkpoints prefix every key with "module.".
  const std::string prefix = "module.";
  bool all_prefixed = !state.empty();
  for (const auto& [name, t] : state) all_prefixed = all_prefixed && starts_with(name, prefix);
  if (all_prefixed) report.stripped_prefix = prefix;

  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : module.named_parameters(true)) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) targets.emplace(item.key(), item.value());

  std::map<std::string, bool> seen;
  torch::NoGradGuard no_grad;
  for (const auto& [raw_name, source] : state) {
    const std::string name = all_prefixed ? raw_name.substr(prefix.size()) : raw_name;
    auto it = targets.find(name);
    if (it == targets.end()) {
      report.unexpected.push_back(name);
      continue;
    }
    seen[name] = true;
    auto& target = it->second;
    if (!source.sizes().equals(target.sizes())) {
      report.shape_mismatch.push_back(name + ": checkpoint " + shape_string(source.sizes()) + " vs model " +
                                      shape_string(target.sizes()));
      continue;
    }
    target.copy_(source);  // copy_ converts dtype (half/double -> float) and device
    report.loaded.push_back(name);
  }
  for (const auto& [name, target] : targets) {
    if (seen.count(name)) continue;
    if (ends_with(name, "num_batches_tracked")) continue;  // absent from older torchvision checkpoints
    report.missing.push_back(name);
  }
  if (options.strict && (!report.complete() || !report.unexpected.empty())) {
    throw Error(ErrorCode::kModel, "checkpoint does not match the model: " + report.to_string(),
                "check that the architecture matches the checkpoint");
  }
  return report;
}

ImportReport load_torchvision_weights(BackboneImpl& backbone, const std::string& path, const ImportOptions& options) {
  return load_state_dict(backbone, read_torch_checkpoint(path), options);
}

ImportReport load_torchvision_weights(AgeGenderModelImpl& model, const std::string& path, const ImportOptions& options) {
  return load_state_dict(*model.backbone(), read_torch_checkpoint(path), options);
}

std::vector<ClassScore> imagenet_top_classes(BackboneImpl& backbone, const cv::Mat& rgb, float scale_mean, int k) {
  PreprocessSpec spec;
  spec.input_size = 224;
  if (scale_mean > 0) spec.mean = spec.std = {scale_mean, scale_mean, scale_mean};
  backbone.eval();
  torch::NoGradGuard no_grad;
  const auto probs =
      torch::softmax(backbone.forward_classifier(backbone.forward_features(images_to_tensor({rgb}, spec))), 1);
  const auto top = probs.topk(k, 1);
  std::vector<ClassScore> scores;
  for (int i = 0; i < k; ++i) {
    scores.push_back({std::get<1>(top)[0][i].item<std::int64_t>(), std::get<0>(top)[0][i].item<double>()});
  }
  return scores;
}

}  // namespace faceage::models
