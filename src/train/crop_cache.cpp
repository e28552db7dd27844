#include "faceage/train/crop_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "faceage/core/check.hpp"
#include "faceage/core/fs.hpp"
#include "faceage/core/progress.hpp"
#include "faceage/core/strings.hpp"
#include "faceage/data/image_io.hpp"

namespace faceage::train {

namespace fs = std::filesystem;

namespace {
constexpr int kCacheFormatVersion = 1;

struct IndexEntry {
  std::int64_t slot = -1;  // -1: the image failed (reason in `source`)
  std::string source;
  std::array<cv::Point2f, 5> landmarks{};
  bool has_landmarks = false;
};

using Index = std::unordered_map<std::string, IndexEntry>;

Index read_index(const std::string& path) {
  Index index;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split(line, '\t');
    if (fields.size() != 14) continue;  // a torn or foreign line: recompute that image
    IndexEntry entry;
    try {
      entry.slot = std::stoll(fields[1]);
      entry.source = fields[2];
      entry.has_landmarks = fields[3] == "1";
      for (int k = 0; k < 5; ++k) {
        entry.landmarks[k] = {std::stof(fields[4 + 2 * k]), std::stof(fields[5 + 2 * k])};
      }
    } catch (const std::exception&) {
      continue;
    }
    index[fields[0]] = entry;
  }
  return index;
}

void write_index(const std::string& path, const Index& index) {
  std::ostringstream out;
  out.precision(7);
  for (const auto& [hash, entry] : index) {
    // Failure reasons may hold tabs or newlines; keep the line format intact.
    std::string source = entry.source;
    for (char& c : source) {
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    }
    out << hash << '\t' << entry.slot << '\t' << source << '\t' << (entry.has_landmarks ? 1 : 0);
    for (const auto& point : entry.landmarks) out << '\t' << point.x << '\t' << point.y;
    out << '\n';
  }
  write_file_atomic(path, out.str());
}

int gender_index(const std::string& gender) {
  if (gender == "male") return 0;
  if (gender == "female") return 1;
  return -1;
}
}  // namespace

std::string crop_settings_hash(const face::FacePipelineOptions& options) {
  auto settings = face::to_json(options);
  settings["selection"] = "largest";
  settings["cache_format"] = kCacheFormatVersion;
  // The same options with other detector files (a new shipped YuNet) give other crops.
  settings["detector_model"] = face::detector_model_id(options.detector, options.detector_options);
  std::string text = settings.dump();
  return sha256_hex(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()).substr(0, 16);
}

struct CropSet::Mapping {
  void* address = MAP_FAILED;
  std::size_t length = 0;
  ~Mapping() {
    if (address != MAP_FAILED) ::munmap(address, length);
  }
};

CropSet::CropSet(CropSet&&) noexcept = default;
CropSet& CropSet::operator=(CropSet&&) noexcept = default;
CropSet::~CropSet() = default;

cv::Mat CropSet::crop(std::size_t i) const {
  const std::size_t bytes = static_cast<std::size_t>(crop_size_) * crop_size_ * 3;
  auto* base = static_cast<std::uint8_t*>(mapping_->address) + static_cast<std::size_t>(slots_[i]) * bytes;
  return cv::Mat(crop_size_, crop_size_, CV_8UC3, base);
}

CropSet CropSet::build(const data::Manifest& manifest, const CropCacheOptions& options, const Context& context,
                       CropSetReport* report_out) {
  FACEAGE_CHECK(!options.cache_dir.empty(), ErrorCode::kConfig,
                "data.cache_dir is empty: the aligned-crop cache needs a directory");
  const auto start_time = std::chrono::steady_clock::now();
  face::FacePipelineOptions face_options = options.face;
  face_options.selection = face::FaceSelection::kLargest;
  face::validate(face_options);
  const int crop = face_options.crop_size;
  const std::size_t slot_bytes = static_cast<std::size_t>(crop) * crop * 3;

  const fs::path dir = fs::path(options.cache_dir) / crop_settings_hash(face_options);
  fs::create_directories(dir);
  write_file_atomic((dir / "settings.json").string(), face::to_json(face_options).dump(2));
  const std::string index_path = (dir / "index.tsv").string();
  const std::string data_path = (dir / "crops.bin").string();

  Index index = read_index(index_path);
  std::int64_t next_slot = 0;
  for (const auto& [hash, entry] : index) next_slot = std::max(next_slot, entry.slot + 1);
  {
    std::error_code ec;
    auto size = fs::exists(data_path, ec) ? fs::file_size(data_path, ec) : 0;
    next_slot = std::max<std::int64_t>(next_slot, static_cast<std::int64_t>((size + slot_bytes - 1) / slot_bytes));
  }

  const std::size_t rows = manifest.rows.size();
  CropSetReport report;
  report.rows = rows;
  report.cache_path = dir.string();
  std::vector<std::string> hashes(rows);
  std::vector<std::string> read_errors(rows);
  std::vector<char> todo(rows, 0);
  const int threads = std::max(1, options.threads > 0 ? options.threads : context.threads);

  // A pipeline that cannot be built (no YuNet model found, a bad detector name) is the run's error,
  // not every image's: caught per image, it was once cached as 20,718 "failed" crops that poisoned
  // every later run with the same settings.
  { face::FacePipeline check_pipeline_builds(face_options); }

  int fd = ::open(data_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  FACEAGE_CHECK(fd >= 0, ErrorCode::kIo, "cannot open the crop cache '" << data_path << "': " << std::strerror(errno));
  std::mutex index_mutex;
  std::atomic<std::size_t> done{0};
  ProgressBar progress({.label = "aligning faces", .total = static_cast<std::int64_t>(rows),
                        .force = options.progress ? -1 : 0, .unit = "img"});

  // One pass: hash each file; on a cache miss, decode, detect, align and append the crop.
  std::atomic<std::size_t> next_row{0};
  std::size_t since_flush = 0;
  auto worker = [&] {
    std::unique_ptr<face::FacePipeline> pipeline;
    for (std::size_t i = next_row++; i < rows; i = next_row++) {
      const auto& row = manifest.rows[i];
      try {
        auto bytes = read_file_bytes(row.path);
        hashes[i] = sha256_hex(bytes.data(), bytes.size());
        {
          std::lock_guard<std::mutex> lock(index_mutex);
          if (index.count(hashes[i])) {
            ++done;
            continue;
          }
        }
        IndexEntry entry;
        try {
          auto decoded = data::decode_image(bytes.data(), bytes.size(), {}, row.path);
          if (!pipeline) pipeline = std::make_unique<face::FacePipeline>(face_options);
          auto faces = pipeline->process(decoded.rgb, row.path);
          auto& face = faces.front();
          cv::Mat aligned = face.aligned.isContinuous() ? face.aligned : face.aligned.clone();
          FACEAGE_ENSURE(aligned.rows == crop && aligned.cols == crop && aligned.type() == CV_8UC3,
                         "face pipeline returned a crop of the wrong size");
          entry.source = face.source;
          entry.has_landmarks = face.has_landmarks;
          entry.landmarks = face.aligned_landmarks;
          {
            std::lock_guard<std::mutex> lock(index_mutex);
            entry.slot = next_slot++;
          }
          const off_t offset = static_cast<off_t>(entry.slot) * static_cast<off_t>(slot_bytes);
          std::size_t written = 0;
          while (written < slot_bytes) {
            ssize_t n = ::pwrite(fd, aligned.data + written, slot_bytes - written, offset + written);
            FACEAGE_CHECK(n > 0 || errno == EINTR, ErrorCode::kIo, "cannot write the crop cache: " << std::strerror(errno));
            if (n > 0) written += static_cast<std::size_t>(n);
          }
        } catch (const Error& e) {
          if (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kInternal) throw;
          entry.slot = -1;  // remembered, so a bad image is not retried on every run
          entry.source = e.what();
        }
        std::lock_guard<std::mutex> lock(index_mutex);
        index[hashes[i]] = entry;
        if (++since_flush >= 500) {
          ::fdatasync(fd);
          write_index(index_path, index);
          since_flush = 0;
        }
        todo[i] = 1;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kInternal) throw;
        read_errors[i] = e.what();
      }
      ++done;
    }
  };
  std::vector<std::thread> pool;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      try {
        worker();
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next_row = rows;  // stop the others
      }
    });
  }
  while (done < rows && !failure) {
    progress.update(static_cast<std::int64_t>(done.load()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& thread : pool) thread.join();
  progress.update(static_cast<std::int64_t>(done.load()));
  progress.finish();
  ::fdatasync(fd);
  write_index(index_path, index);
  ::close(fd);
  if (failure) std::rethrow_exception(failure);

  CropSet set;
  set.manifest_ = manifest;
  set.crop_size_ = crop;
  for (std::size_t i = 0; i < rows; ++i) {
    const auto& row = manifest.rows[i];
    if (!read_errors[i].empty()) {
      ++report.failed;
      report.failures.emplace_back(row.file, read_errors[i]);
      continue;
    }
    const auto& entry = index.at(hashes[i]);
    if (entry.slot < 0) {
      ++report.failed;
      report.failures.emplace_back(row.file, entry.source);
      continue;
    }
    (todo[i] ? report.computed : report.cached)++;
    if (entry.source == "detector") ++report.detector;
    if (entry.source == "padded_retry") ++report.padded_retry;
    if (entry.source == "crop_fallback") ++report.crop_fallback;
    CropSample sample;
    sample.row = i;
    sample.age = static_cast<float>(row.age);
    sample.gender = gender_index(row.gender);
    sample.race = row.race;
    sample.source = entry.source;
    sample.landmarks = entry.landmarks;
    sample.has_landmarks = entry.has_landmarks;
    set.samples_.push_back(sample);
    set.slots_.push_back(entry.slot);
  }
  // Map the whole cache file read-only.
  set.mapping_ = std::make_unique<Mapping>();
  int read_fd = ::open(data_path.c_str(), O_RDONLY | O_CLOEXEC);
  FACEAGE_CHECK(read_fd >= 0, ErrorCode::kIo, "cannot open the crop cache '" << data_path << "'");
  struct stat info {};
  ::fstat(read_fd, &info);
  set.mapping_->length = static_cast<std::size_t>(info.st_size);
  if (set.mapping_->length > 0) {
    set.mapping_->address = ::mmap(nullptr, set.mapping_->length, PROT_READ, MAP_SHARED, read_fd, 0);
  }
  ::close(read_fd);
  FACEAGE_CHECK(set.samples_.empty() || set.mapping_->address != MAP_FAILED, ErrorCode::kIo,
                "cannot map the crop cache '" << data_path << "'");
  for (auto slot : set.slots_) {
    FACEAGE_ENSURE(static_cast<std::size_t>(slot + 1) * slot_bytes <= set.mapping_->length,
                   "crop cache slot beyond the end of crops.bin");
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (context.logger) {
    context.logger->info("crops: {} rows, {} cached, {} computed, {} failed ({} padded retry, {} crop fallback) in {:.1f}s",
                         rows, report.cached, report.computed, report.failed, report.padded_retry, report.crop_fallback,
                         report.seconds);
  }
  if (report_out) *report_out = std::move(report);
  return set;
}

}  // namespace faceage::train
