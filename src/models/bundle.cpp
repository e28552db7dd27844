// Bundle file: a zip written with LibTorch's PyTorchStreamWriter (the container torch.save uses)
// holding
//   bundle.json        model_options, preprocess, face_pipeline, labels, metadata, format version
//   tensors.json       [{name, dtype, stored, shape, record}] for every parameter and buffer
//   tensors/<i>        raw little-endian tensor bytes (fp16 when saved with half_precision)
// read_bundle_info reads only bundle.json; no model is built and no weights are read.
// An ensemble file is the same container holding
//   bundle.json        format "faceage-ensemble", test_time_flip, metadata, members [{record, info, sha256}]
//   members/<i>        a member bundle file, byte for byte
#include "faceage/models/bundle.hpp"
#include "faceage/models/calibrated_ensemble.hpp"
#include "faceage/models/licence_notes.hpp"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/models/tensor_io.hpp"

namespace faceage::models {
namespace {

constexpr const char* kFormat = "faceage-bundle";
constexpr const char* kEnsembleFormat = "faceage-ensemble";
constexpr int kFormatVersion = 1;
constexpr const char* kInfoRecord = "bundle.json";
constexpr const char* kIndexRecord = "tensors.json";

template <class T>
T get_field(const nlohmann::json& json, const std::string& section, const std::string& key, const T& fallback) {
  if (!json.contains(key)) return fallback;
  try {
    return json.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorCode::kModel, "bundle field '" + section + "." + key + "' has the wrong type: " + json.at(key).dump());
  }
}

const char* dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return "float32";
    case torch::kHalf: return "float16";
    case torch::kDouble: return "float64";
    case torch::kLong: return "int64";
    case torch::kInt: return "int32";
    case torch::kBool: return "bool";
    case torch::kByte: return "uint8";
    default: throw Error(ErrorCode::kInternal, std::string("bundle: unsupported tensor dtype ") + c10::toString(type));
  }
}

torch::ScalarType parse_dtype(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> kTypes{
      {"float32", torch::kFloat}, {"float16", torch::kHalf}, {"float64", torch::kDouble}, {"int64", torch::kLong},
      {"int32", torch::kInt},     {"bool", torch::kBool},    {"uint8", torch::kByte}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw Error(ErrorCode::kModel, "bundle: unknown tensor dtype '" + name + "'");
  return it->second;
}

// Reads a record as a string; kModel when absent.
std::string read_record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name, const std::string& path) {
  if (!reader.hasRecord(name)) {
    throw Error(ErrorCode::kModel, "'" + path + "' is not a faceage bundle (no " + name + ")",
                "bundles are written by `faceage train` / save_bundle");
  }
  auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_reader(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(ErrorCode::kNotFound, "bundle '" + path + "' does not exist", "check the --model path");
  }
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw Error(ErrorCode::kModel, "'" + path + "' is not a faceage bundle (not a zip archive, or truncated)");
  }
}

nlohmann::json parse_json_record(const std::string& text, const std::string& path, const std::string& record) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, "bundle '" + path + "': " + record + " is not valid JSON: " + e.what());
  }
}

// Format and version of a bundle or ensemble file; returns the format name.
std::string check_format(const nlohmann::json& info, const std::string& path) {
  const std::string format = info.is_object() ? info.value("format", std::string()) : std::string();
  if (format != kFormat && format != kEnsembleFormat) {
    throw Error(ErrorCode::kModel, "'" + path + "' is not a faceage bundle (bundle.json has no format '" + kFormat + "')");
  }
  const int version = get_field<int>(info, "bundle", "format_version", -1);
  if (version < 1 || version > kFormatVersion) {
    throw Error(ErrorCode::kModel,
                "bundle '" + path + "' has format version " + std::to_string(version) + "; this faceage reads version " +
                    std::to_string(kFormatVersion),
                version > kFormatVersion ? "upgrade faceage to load it" : "the file is damaged; re-export it");
  }
  return format;
}

// A bundle or ensemble file opened for reading, its bundle.json parsed and its format checked.
struct OpenedFile {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  nlohmann::json info;
  std::string format;  // kFormat or kEnsembleFormat
};

OpenedFile open_model(const std::string& path) {
  OpenedFile file;
  file.reader = open_reader(path);
  file.info = parse_json_record(read_record(*file.reader, kInfoRecord, path), path, kInfoRecord);
  file.format = check_format(file.info, path);
  return file;
}

struct ZipRecord {
  std::string name;
  const void* data;
  size_t size;
};

// Writes the records as a zip at `path` atomically (temp file, fsync, rename). kIo on failure.
void write_zip_atomic(const std::string& path, const std::vector<ZipRecord>& records) {
  const std::string temp = temp_path_beside(path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(path).parent_path(),
                                      ec);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot write bundle '" + temp + "': " + std::strerror(errno));
  bool write_failed = false;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([fd, &write_failed](const void* data, size_t size) -> size_t {
      const char* p = static_cast<const char*>(data);
      size_t left = size;
      while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
          if (errno == EINTR) continue;
          write_failed = true;
          return 0;
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
      return size;
    });
    for (const auto& record : records) writer.writeRecord(record.name, record.data, record.size);
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    write_failed = true;
  }
  const bool synced = !write_failed && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    std::filesystem::remove(temp, ec);
    throw Error(ErrorCode::kIo, "cannot write bundle '" + path + "' (disk full or not writable?)");
  }
  replace_file(temp, path);
}

std::string first_names(const std::vector<std::string>& names, size_t limit = 10) {
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(limit, names.size()));
  std::string out = join(shown, ", ");
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

}  // namespace

nlohmann::json to_json(const LabelSpec& spec) {
  nlohmann::json json = {{"genders", spec.genders},
                         {"interval_coverage", spec.interval_coverage},
                         {"interval_scale", spec.interval_scale},
                         {"interval_halfwidth", spec.interval_halfwidth}};
  if (!spec.conformal.empty()) {
    json["conformal"] = nlohmann::json::array();
    for (const auto& c : spec.conformal) json["conformal"].push_back(to_json(c));
  }
  if (!spec.minor.empty()) {
    json["minor"] = nlohmann::json::array();
    for (const auto& c : spec.minor) json["minor"].push_back(to_json(c));
  }
  return json;
}

LabelSpec label_spec_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw Error(ErrorCode::kModel, "bundle field 'labels' must be an object");
  LabelSpec spec;
  spec.genders = get_field(json, "labels", "genders", spec.genders);
  spec.interval_coverage = get_field(json, "labels", "interval_coverage", spec.interval_coverage);
  spec.interval_scale = get_field(json, "labels", "interval_scale", spec.interval_scale);
  spec.interval_halfwidth = get_field(json, "labels", "interval_halfwidth", spec.interval_halfwidth);
  for (const auto& c : json.value("conformal", nlohmann::json::array())) spec.conformal.push_back(conformal_from_json(c));
  for (const auto& c : json.value("minor", nlohmann::json::array())) spec.minor.push_back(minor_calibration_from_json(c));
  return spec;
}

nlohmann::json to_json(const ModelOptions& options) {
  return {{"arch", options.arch},
          {"age_head", age_head_name(options.age_head)},
          {"min_age", options.min_age},
          {"max_age", options.max_age},
          {"head_dropout", options.head_dropout},
          {"gender_head", options.gender_head},
          {"gender_hidden", options.gender_hidden},
          {"imagenet_classes", options.imagenet_classes}};
}

ModelOptions model_options_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw Error(ErrorCode::kModel, "bundle field 'model_options' must be an object");
  ModelOptions options;
  options.arch = get_field(json, "model_options", "arch", options.arch);
  const auto head = get_field<std::string>(json, "model_options", "age_head", age_head_name(options.age_head));
  try {
    options.age_head = parse_age_head(head);
  } catch (const Error& e) {
    throw Error(ErrorCode::kModel, std::string("bundle field 'model_options.age_head': ") + e.what());
  }
  options.min_age = get_field(json, "model_options", "min_age", options.min_age);
  options.max_age = get_field(json, "model_options", "max_age", options.max_age);
  options.head_dropout = get_field(json, "model_options", "head_dropout", options.head_dropout);
  options.gender_head = get_field(json, "model_options", "gender_head", options.gender_head);
  options.gender_hidden = get_field(json, "model_options", "gender_hidden", options.gender_hidden);
  options.imagenet_classes = get_field(json, "model_options", "imagenet_classes", options.imagenet_classes);
  return options;
}

Bundle untrained_bundle(const ModelOptions& options, int input_size) {
  Bundle bundle;
  bundle.model_options = options;
  bundle.preprocess.input_size = input_size;
  bundle.metadata = {{"name", "untrained-" + options.arch},
                     {"untrained", true},
                     {"note", "random weights from `faceage models create`: answers are meaningless"}};
  bundle.model = create_model(options);
  bundle.model->eval();
  return bundle;
}

void save_bundle(const Bundle& bundle, const std::string& path, const SaveOptions& options) {
  FACEAGE_CHECK(!bundle.model.is_empty(), ErrorCode::kInvalidArgument, "save_bundle: the bundle has no model");
  nlohmann::json info = {{"format", kFormat},
                         {"format_version", kFormatVersion},
                         {"model_options", to_json(bundle.model->options())},
                         {"preprocess", to_json(bundle.preprocess)},
                         {"face_pipeline", bundle.face_pipeline},
                         {"labels", to_json(bundle.labels)},
                         {"metadata", bundle.metadata},
                         {"weights_dtype", options.half_precision ? "float16" : "float32"}};

  // Parameters then buffers, in the model's deterministic order; all on the CPU, contiguous.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : bundle.model->named_parameters(true)) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : bundle.model->named_buffers(true)) tensors.emplace_back(item.key(), item.value());
  nlohmann::json index = nlohmann::json::array();
  std::vector<torch::Tensor> stored;
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < tensors.size(); ++i) {
      auto t = tensors[i].second.detach().to(torch::kCPU);
      const auto original = t.scalar_type();
      if (options.half_precision && t.is_floating_point()) t = t.to(torch::kHalf);
      t = t.contiguous();
      index.push_back({{"name", tensors[i].first},
                       {"dtype", dtype_name(original)},
                       {"stored", dtype_name(t.scalar_type())},
                       {"shape", t.sizes().vec()},
                       {"record", "tensors/" + std::to_string(i)}});
      stored.push_back(std::move(t));
    }
  }

  const std::string info_text = info.dump(2);
  const std::string index_text = index.dump();
  std::vector<ZipRecord> records{{kInfoRecord, info_text.data(), info_text.size()},
                                 {kIndexRecord, index_text.data(), index_text.size()}};
  for (size_t i = 0; i < stored.size(); ++i) {
    records.push_back({"tensors/" + std::to_string(i), stored[i].data_ptr(), stored[i].nbytes()});
  }
  write_zip_atomic(path, records);
}

nlohmann::json read_bundle_info(const std::string& path) {
  return open_model(path).info;
}

namespace {

// Builds the model a plain bundle describes and fills its weights from `reader`. `path` names the
// bundle in messages (for an ensemble member: "FILE member I").
Bundle load_bundle_from(caffe2::serialize::PyTorchStreamReader& reader, const nlohmann::json& info,
                        const std::string& path, const std::string& device) {
  auto index = parse_json_record(read_record(reader, kIndexRecord, path), path, kIndexRecord);
  if (!index.is_array()) throw Error(ErrorCode::kModel, "bundle '" + path + "': tensors.json must be an array");

  Bundle bundle;
  bundle.model_options = model_options_from_json(info.value("model_options", nlohmann::json::object()));
  bundle.preprocess = preprocess_from_json(info.value("preprocess", nlohmann::json::object()));
  bundle.face_pipeline = info.value("face_pipeline", nlohmann::json::object());
  bundle.labels = label_spec_from_json(info.value("labels", nlohmann::json::object()));
  bundle.metadata = info.value("metadata", nlohmann::json::object());
  try {
    bundle.model = create_model(bundle.model_options);
  } catch (const Error& e) {
    throw Error(ErrorCode::kModel, "bundle '" + path + "' describes a model this faceage cannot build: " + e.what(),
                e.hint());
  }

  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : bundle.model->named_parameters(true)) targets.emplace(item.key(), item.value());
  for (const auto& item : bundle.model->named_buffers(true)) targets.emplace(item.key(), item.value());

  std::vector<std::string> unexpected, mismatched;
  std::set<std::string> loaded;
  torch::NoGradGuard no_grad;
  try {
    for (const auto& entry : index) {
      const auto name = entry.at("name").get<std::string>();
      auto it = targets.find(name);
      if (it == targets.end()) {
        unexpected.push_back(name);
        continue;
      }
      const auto stored = parse_dtype(entry.at("stored").get<std::string>());
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      auto& target = it->second;
      if (!target.sizes().equals(shape)) {
        mismatched.push_back(name);
        continue;
      }
      auto [data, size] = reader.getRecord(entry.at("record").get<std::string>());
      const size_t expected = static_cast<size_t>(target.numel()) * c10::elementSize(stored);
      if (size != expected) {
        throw Error(ErrorCode::kModel, "bundle '" + path + "': tensor '" + name + "' holds " + std::to_string(size) +
                                           " bytes, expected " + std::to_string(expected) + " (truncated or damaged file)");
      }
      target.copy_(torch::from_blob(data.get(), shape, torch::TensorOptions().dtype(stored)));
      loaded.insert(name);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kModel, "bundle '" + path + "': malformed tensors.json: " + e.what());
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kModel, "bundle '" + path + "' is damaged: " + e.what_without_backtrace());
  }
  std::vector<std::string> missing;
  for (const auto& [name, t] : targets) {
    if (!loaded.count(name)) missing.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string message = "bundle '" + path + "' does not match its model (" + bundle.model_options.arch + ")";
    if (!missing.empty()) message += "; missing: " + first_names(missing);
    if (!unexpected.empty()) message += "; unexpected: " + first_names(unexpected);
    if (!mismatched.empty()) message += "; shape mismatch: " + first_names(mismatched);
    throw Error(ErrorCode::kModel, message, "the file was written by a different model definition; re-export it");
  }
  bundle.model->to(parse_device(device));
  bundle.model->eval();
  return bundle;
}

// An ensemble file's member list; kModel when absent or empty.
nlohmann::json ensemble_members(const nlohmann::json& info, const std::string& path) {
  auto members = info.value("members", nlohmann::json::array());
  if (!members.is_array() || members.empty()) {
    throw Error(ErrorCode::kModel, "ensemble '" + path + "' lists no members", "the file is damaged; re-create it");
  }
  return members;
}

// The bytes of member `i` of an ensemble file (a whole bundle file); kModel when missing.
std::string member_bytes(caffe2::serialize::PyTorchStreamReader& reader, const nlohmann::json& members, size_t i,
                         const std::string& path) {
  const auto record = members[i].is_object() ? members[i].value("record", std::string()) : std::string();
  return read_record(reader, record, path + " member " + std::to_string(i));
}

Error ensemble_not_bundle(const std::string& path) {
  return Error(ErrorCode::kInvalidArgument, "'" + path + "' is an ensemble file, not a single bundle",
               "load it with load_model_file (faceage predict/eval/serve --model accept it)");
}

}  // namespace

Bundle load_bundle(const std::string& path, const std::string& device) {
  auto file = open_model(path);
  if (file.format == kEnsembleFormat) throw ensemble_not_bundle(path);
  return load_bundle_from(*file.reader, file.info, path, device);
}

namespace {
void write_ensemble(const std::vector<std::string>& member_paths, const std::string& path, const EnsembleOptions& options,
                    const LabelSpec* labels) {
  FACEAGE_CHECK(member_paths.size() >= 2, ErrorCode::kInvalidArgument,
                "an ensemble needs at least two bundles, got " << member_paths.size());
  std::vector<std::string> member_bytes;
  nlohmann::json members = nlohmann::json::array();
  for (size_t i = 0; i < member_paths.size(); ++i) {
    const auto& member = member_paths[i];
    auto info = read_bundle_info(member);
    if (info.value("format", std::string()) == kEnsembleFormat) {
      throw Error(ErrorCode::kInvalidArgument, "'" + member + "' is itself an ensemble",
                  "list its member bundles instead (`faceage models info` shows them)");
    }
    load_bundle(member);  // the weights must load too: a damaged member fails here, not at serving time
    member_bytes.push_back(read_file_text(member));
    const auto& bytes = member_bytes.back();
    members.push_back({{"record", "members/" + std::to_string(i)},
                       {"source", std::filesystem::path(member).filename().string()},
                       {"sha256", sha256_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())},
                       {"info", std::move(info)}});
  }
  nlohmann::json info = {{"format", kEnsembleFormat},
                         {"format_version", kFormatVersion},
                         {"test_time_flip", options.test_time_flip},
                         {"metadata", options.metadata},
                         {"members", members}};
  if (labels) info["labels"] = to_json(*labels);
  const std::string info_text = info.dump(2);
  std::vector<ZipRecord> records{{kInfoRecord, info_text.data(), info_text.size()}};
  for (size_t i = 0; i < member_bytes.size(); ++i) {
    records.push_back({members[i]["record"].get<std::string>(), member_bytes[i].data(), member_bytes[i].size()});
  }
  write_zip_atomic(path, records);
}
}  // namespace

void save_ensemble(const std::vector<std::string>& member_paths, const std::string& path, const EnsembleOptions& options) {
  write_ensemble(member_paths, path, options, nullptr);
}

void save_calibrated_ensemble(const std::vector<std::string>& member_paths, const std::string& path,
                              const EnsembleOptions& options, const LabelSpec& labels) {
  write_ensemble(member_paths, path, options, &labels);
}

namespace {
std::string recorded_licence(const nlohmann::json& info) {
  const auto metadata = info.value("metadata", nlohmann::json::object());
  return metadata.is_object() ? metadata.value("licence", std::string()) : std::string();
}
}  // namespace

std::string join_licence_notes(const std::vector<std::string>& notes) {
  std::vector<std::string> unique;
  for (const auto& note : notes) {
    if (!note.empty() && std::find(unique.begin(), unique.end(), note) == unique.end()) unique.push_back(note);
  }
  std::string joined;
  for (const auto& note : unique) joined += (joined.empty() ? "" : " | ") + note;
  return joined;
}

std::string licence_note(const nlohmann::json& info) {
  std::string note = recorded_licence(info);
  if (note.empty() && info.value("format", std::string()) == kEnsembleFormat) {
    std::vector<std::string> notes;  // in member order
    for (const auto& member : info.value("members", nlohmann::json::array())) {
      notes.push_back(recorded_licence(member.value("info", nlohmann::json::object())));
    }
    note = join_licence_notes(notes);
  }
  return note.empty() ? "not recorded in this model file (made before faceage recorded licence notes; see "
                        "models/LICENSE.md for the shipped models)"
                      : note;
}

std::vector<std::string> unpack_ensemble(const std::string& path, const std::string& out_dir) {
  auto file = open_model(path);
  if (file.format != kEnsembleFormat) {
    throw Error(ErrorCode::kInvalidArgument, "'" + path + "' is a single bundle, not an ensemble file");
  }
  std::vector<std::string> written;
  const auto members = ensemble_members(file.info, path);
  for (size_t i = 0; i < members.size(); ++i) {
    const auto bytes = member_bytes(*file.reader, members, i, path);
    const auto out = (std::filesystem::path(out_dir) /
                      (std::filesystem::path(path).stem().string() + "-member-" + std::to_string(i) + ".fab"))
                         .string();
    std::filesystem::create_directories(out_dir);
    write_file_atomic(out, bytes);
    written.push_back(out);
  }
  return written;
}

ModelFile load_model_file(const std::string& path, const std::string& device) {
  auto opened = open_model(path);
  ModelFile file;
  file.info = opened.info;
  if (opened.format == kFormat) {
    file.members.push_back(load_bundle_from(*opened.reader, opened.info, path, device));
    return file;
  }
  const auto members = ensemble_members(opened.info, path);
  file.test_time_flip = get_field<bool>(opened.info, "ensemble", "test_time_flip", EnsembleOptions{}.test_time_flip);
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string label = path + " member " + std::to_string(i);
    std::istringstream stream(member_bytes(*opened.reader, members, i, path));
    std::unique_ptr<caffe2::serialize::PyTorchStreamReader> member_reader;
    try {
      member_reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(&stream);
    } catch (const c10::Error&) {
      throw Error(ErrorCode::kModel, "'" + label + "' is not a faceage bundle (damaged ensemble file)");
    }
    auto member_info = parse_json_record(read_record(*member_reader, kInfoRecord, label), label, kInfoRecord);
    if (check_format(member_info, label) != kFormat) throw ensemble_not_bundle(label);
    file.members.push_back(load_bundle_from(*member_reader, member_info, label, device));
  }
  return file;
}

}  // namespace faceage::models
