#pragma once
// Importing torchvision-format checkpoints (torch.save of a state dict) into faceage backbones.
//
// Reads both forms users have: a plain `dict` and the `collections.OrderedDict` that torchvision's
// own .pth files hold (which torch::pickle_load in LibTorch 1.13 turns into None), through a small
// pickle reader of our own. Also unwraps {"state_dict": ...}, {"model": ...},
// {"model_state_dict": ...} and strips a DataParallel "module." prefix.
// Also reads TensorFlow.js weights (a weights manifest .json and the .bin shards it names), such as
// face-api.js's port of dlib's face-recognition ResNet (the dlib_resnet backbone).
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "faceage/models/model.hpp"

namespace faceage::models {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The flat state dict of a torch.save zip checkpoint, in file order, tensors on the CPU in their
// stored dtype. kNotFound for a missing file; kModel for anything that is not a readable
// checkpoint (legacy pre-1.6 format, corrupt zip, no tensor dict inside).
NamedTensors read_torch_checkpoint(const std::string& path);

// The tensors of a tfjs weights manifest (a JSON array of {paths, weights} groups, or a model.json
// holding one under "weightsManifest"); each group's tensors lie back to back in the concatenation
// of its .bin files, named relative to the manifest. Quantised entries (uint8/uint16:
// value = min + q * scale) are decoded to float32; float32 and int32 are read as stored. Names and
// layouts come out in torch's conventions, so they load by name with load_state_dict:
// '/' -> '.'; a last part filters/weights -> weight, biases -> bias; a bare 2-D name ("fc") gets
// ".weight"; HWIO conv filters -> OIHW; [in, out] matrices -> [out, in].
// kNotFound for a missing manifest or .bin; kModel naming the tensor for a malformed manifest,
// an unsupported dtype, or .bin files shorter or longer than the manifest says.
NamedTensors read_tfjs_weights(const std::string& manifest_path);

struct ImportReport {
  std::vector<std::string> loaded;          // copied into the module
  std::vector<std::string> missing;         // in the module, not in the checkpoint
  std::vector<std::string> unexpected;      // in the checkpoint, not in the module
  std::vector<std::string> shape_mismatch;  // "name: checkpoint [a, b] vs model [c, d]" (not copied)
  std::string stripped_prefix;              // e.g. "module." when it was removed from every key
  // Everything the module has was loaded (unexpected keys, such as an ImageNet classifier the
  // backbone does not keep, are allowed).
  bool complete() const { return missing.empty() && shape_mismatch.empty(); }
  std::string to_string() const;  // multi-line summary naming the first few keys of each list
};

struct ImportOptions {
  // Throw kModel (with the report) unless complete() and no unexpected keys.
  bool strict = false;
};

// Copies tensors by name into `module`'s parameters and buffers under NoGradGuard, converting
// floating dtypes to the module's dtype. `num_batches_tracked` missing from old checkpoints is
// not reported as missing.
ImportReport load_state_dict(torch::nn::Module& module, const NamedTensors& state, const ImportOptions& options = {});

// read_torch_checkpoint + load_state_dict into a backbone (torchvision names, no prefix).
ImportReport load_torchvision_weights(BackboneImpl& backbone, const std::string& path,
                                      const ImportOptions& options = {});
// The same into model->backbone().
ImportReport load_torchvision_weights(AgeGenderModelImpl& model, const std::string& path,
                                      const ImportOptions& options = {});

// Pretrained weights in either format, by file name: a path ending in .json is a tfjs manifest
// (read_tfjs_weights), anything else a torch.save checkpoint (read_torch_checkpoint). What
// `model.pretrained` and `faceage models import --pretrained` take.
ImportReport load_pretrained_weights(BackboneImpl& backbone, const std::string& path, const ImportOptions& options = {});
ImportReport load_pretrained_weights(AgeGenderModelImpl& model, const std::string& path,
                                     const ImportOptions& options = {});

struct ClassScore {
  std::int64_t index = 0;
  double probability = 0;
};
// A check that imported weights work: the backbone's ImageNet classifier (built with
// BackboneOptions::imagenet_classes = 1000) on one RGB image resized to 224, normalised with the
// ImageNet mean/std, or with (x - m) / m for `scale_mean` m > 0 (0.5: x/127.5 - 1). The `k`
// most probable classes, most probable first.
std::vector<ClassScore> imagenet_top_classes(BackboneImpl& backbone, const cv::Mat& rgb, float scale_mean = -1.0f,
                                             int k = 5);

}  // namespace faceage::models
