#include "faceage/models/weights_import.hpp"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
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

// tfjs name -> torch name: "conv32_1/conv1/conv/filters" -> "conv32_1.conv1.conv.weight",
// ".../scale/biases" -> "....scale.bias", a bare matrix "fc" -> "fc.weight".
std::string torch_name_of_tfjs(const std::string& tfjs_name, size_t dims) {
  auto parts = split(tfjs_name, '/');
  std::string& last = parts.back();
  if (parts.size() == 1) {
    if (dims >= 2) parts.push_back("weight");
  } else if (last == "filters" || last == "weights" || last == "kernel") {
    last = "weight";
  } else if (last == "biases") {
    last = "bias";
  }
  return join(parts, ".");
}

// tfjs layouts -> torch layouts: HWIO filters -> OIHW, [in, out] matrices -> [out, in].
torch::Tensor torch_layout_of_tfjs(const torch::Tensor& t) {
  if (t.dim() == 4) return t.permute({3, 2, 0, 1}).contiguous();
  if (t.dim() == 2) return t.t().contiguous();
  return t;
}

// One manifest entry decoded from `bytes` at `offset`; advances offset past it.
torch::Tensor decode_tfjs_entry(const nlohmann::json& entry, const std::vector<std::uint8_t>& bytes, size_t& offset,
                                const std::string& name) {
  std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
  int64_t count = 1;
  for (auto d : shape) {
    if (d < 0) throw Error(ErrorCode::kModel, "tfjs tensor '" + name + "' has a negative dimension");
    count *= d;
  }
  const std::string dtype = entry.at("dtype").get<std::string>();
  const auto* quantization = entry.contains("quantization") ? &entry.at("quantization") : nullptr;
  const std::string stored = quantization ? quantization->at("dtype").get<std::string>() : dtype;
  size_t element_bytes = 0;
  if (stored == "uint8") {
    element_bytes = 1;
  } else if (stored == "uint16") {
    element_bytes = 2;
  } else if (stored == "float32" || stored == "int32") {
    element_bytes = 4;
  }
  if (element_bytes == 0 || (quantization && element_bytes == 4) || (!quantization && dtype != stored)) {
    throw Error(ErrorCode::kModel, "tfjs tensor '" + name + "': unsupported dtype " + dtype +
                                       (quantization ? " quantised as " + stored : std::string()),
                "supported: float32 and int32 as stored, uint8/uint16 quantisation");
  }
  const size_t size = static_cast<size_t>(count) * element_bytes;
  if (offset + size > bytes.size()) {
    throw Error(ErrorCode::kModel, "tfjs weights end inside tensor '" + name + "' (needs bytes " +
                                       std::to_string(offset) + ".." + std::to_string(offset + size) + ", have " +
                                       std::to_string(bytes.size()) + ")",
                "the .bin files do not match the manifest");
  }
  const std::uint8_t* data = bytes.data() + offset;
  offset += size;
  torch::Tensor out;
  if (!quantization) {
    out = torch::empty(shape, stored == "int32" ? torch::kInt32 : torch::kFloat32);
    std::memcpy(out.data_ptr(), data, size);  // tfjs writes little-endian, as this machine reads
    return out;
  }
  const auto stored_type = element_bytes == 1 ? torch::kUInt8 : torch::kInt32;
  torch::Tensor q;
  if (element_bytes == 1) {
    q = torch::from_blob(const_cast<std::uint8_t*>(data), {count}, stored_type).to(torch::kFloat32);
  } else {
    std::vector<std::int32_t> wide(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) wide[i] = data[2 * i] | (data[2 * i + 1] << 8);
    q = torch::from_blob(wide.data(), {count}, torch::kInt32).to(torch::kFloat32);
  }
  const double scale = quantization->at("scale").get<double>();
  const double min = quantization->at("min").get<double>();
  return (q * scale + min).reshape(shape);
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

NamedTensors read_tfjs_weights(const std::string& manifest_path) {
  if (!std::filesystem::is_regular_file(manifest_path)) {
    throw Error(ErrorCode::kNotFound, "tfjs weights manifest '" + manifest_path + "' does not exist", "check the path");
  }
  const std::filesystem::path folder = std::filesystem::path(manifest_path).parent_path();
  NamedTensors out;
  std::string current = "(manifest)";
  try {
    nlohmann::json manifest = nlohmann::json::parse(read_file_text(manifest_path));
    if (manifest.is_object() && manifest.contains("weightsManifest")) manifest = manifest.at("weightsManifest");
    if (!manifest.is_array() || manifest.empty()) {
      throw Error(ErrorCode::kModel, "'" + manifest_path + "' is not a tfjs weights manifest (expected a JSON array of "
                                                           "{paths, weights} groups or a model.json with weightsManifest)");
    }
    for (const auto& group : manifest) {
      std::vector<std::uint8_t> bytes;
      for (const auto& shard : group.at("paths")) {
        auto part = read_file_bytes((folder / shard.get<std::string>()).string());
        bytes.insert(bytes.end(), part.begin(), part.end());
      }
      size_t offset = 0;
      for (const auto& entry : group.at("weights")) {
        current = entry.at("name").get<std::string>();
        auto tensor = decode_tfjs_entry(entry, bytes, offset, current);
        out.emplace_back(torch_name_of_tfjs(current, static_cast<size_t>(tensor.dim())), torch_layout_of_tfjs(tensor));
      }
      if (offset != bytes.size()) {
        throw Error(ErrorCode::kModel, "tfjs weights of '" + manifest_path + "' hold " + std::to_string(bytes.size()) +
                                           " bytes, the manifest describes " + std::to_string(offset),
                    "the .bin files do not match the manifest");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, "malformed tfjs manifest '" + manifest_path + "' at " + current + ": " + e.what());
  }
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

ImportReport load_pretrained_weights(BackboneImpl& backbone, const std::string& path, const ImportOptions& options) {
  if (ends_with(to_lower(path), ".json")) return load_state_dict(backbone, read_tfjs_weights(path), options);
  return load_torchvision_weights(backbone, path, options);
}

ImportReport load_pretrained_weights(AgeGenderModelImpl& model, const std::string& path, const ImportOptions& options) {
  return load_pretrained_weights(*model.backbone(), path, options);
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

