#include "faceage/train/loader.hpp"

#include <chrono>
#include <numeric>

#include <opencv2/imgproc.hpp>

#include "faceage/core/check.hpp"
#include "faceage/models/tensor_io.hpp"
#include "faceage/train/distributed.hpp"

namespace faceage::train {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  auto splitmix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return splitmix(splitmix(splitmix(seed) ^ a) ^ (b * 0x9e3779b97f4a7c15ULL));
}

DataLoader::DataLoader(const CropSet& crops, std::vector<std::size_t> indices, const augment::Augmenter* augmenter,
                       const models::PreprocessSpec& preprocess, const LoaderOptions& options)
    : crops_(crops), indices_(std::move(indices)), augmenter_(augmenter), preprocess_(preprocess), options_(options) {
  FACEAGE_CHECK(options.batch_size > 0, ErrorCode::kConfig, "train.batch_size must be > 0");
  FACEAGE_CHECK(options.workers >= 1, ErrorCode::kConfig, "data.workers must be >= 1");
  FACEAGE_CHECK(!augmenter || augmenter->output_size() == preprocess.input_size, ErrorCode::kInternal,
                "augmenter output size differs from the model input size");
}

DataLoader::~DataLoader() { stop_workers(); }

std::int64_t DataLoader::batches_per_epoch() const {
  const auto n = static_cast<std::int64_t>(distributed_shard_size(indices_.size(), options_.world_size, options_.drop_last));
  const auto b = static_cast<std::int64_t>(options_.batch_size);
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<std::size_t> DataLoader::epoch_order(int epoch) const {
  std::vector<std::size_t> order = indices_;
  if (options_.shuffle) {
    std::mt19937_64 rng(mix_seed(options_.seed, 0x5eed, static_cast<std::uint64_t>(epoch)));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  }
  if (options_.world_size > 1) return distributed_shard(order, options_.rank, options_.world_size, options_.drop_last);
  return order;
}

Batch DataLoader::make_batch(int epoch, std::int64_t batch_index) const {
  return make_batch(epoch_order(epoch), epoch, batch_index);
}

Batch DataLoader::make_batch(const std::vector<std::size_t>& order, int epoch, std::int64_t batch_index) const {
  const std::size_t begin = static_cast<std::size_t>(batch_index) * options_.batch_size;
  const std::size_t end = std::min(order.size(), begin + options_.batch_size);
  Batch batch;
  std::vector<cv::Mat> images;
  std::vector<float> ages;
  std::vector<std::int64_t> genders;
  for (std::size_t k = begin; k < end; ++k) {
    const std::size_t index = order[k];
    const auto& sample = crops_.sample(index);
    if (augmenter_) {
      // Resize to the model's input size exactly as inference does (models::images_to_tensor)
      // before augmenting, so training sees the same resampling as serving.
      cv::Mat crop = crops_.crop(index);
      const int size = preprocess_.input_size;
      auto landmarks = sample.landmarks;
      if (crop.cols != size || crop.rows != size) {
        const bool shrinking = crop.cols > size || crop.rows > size;
        cv::Mat resized;
        cv::resize(crop, resized, cv::Size(size, size), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        const float sx = static_cast<float>(size) / crop.cols, sy = static_cast<float>(size) / crop.rows;
        for (auto& point : landmarks) point = {point.x * sx, point.y * sy};
        crop = resized;
      }
      std::mt19937_64 rng(mix_seed(options_.seed, static_cast<std::uint64_t>(epoch) + 1, index));
      images.push_back(augmenter_->operator()(crop, landmarks, rng).image);
    } else {
      images.push_back(crops_.crop(index));
    }
    ages.push_back(sample.age);
    genders.push_back(sample.gender);
    batch.samples.push_back(index);
  }
  batch.images = models::images_to_tensor(images, preprocess_);
  batch.ages = torch::tensor(ages, torch::kFloat);
  batch.genders = torch::tensor(genders, torch::kLong);
  return batch;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  made_cv_.notify_all();
  space_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  ready_.clear();
  stopping_ = false;
}

void DataLoader::start_epoch(int epoch, std::int64_t skip_batches) {
  stop_workers();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  end_ = batches_per_epoch();
  next_to_make_ = next_to_return_ = std::min(std::max<std::int64_t>(0, skip_batches), end_);
  failure_ = nullptr;
  for (int t = 0; t < options_.workers; ++t) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
  for (;;) {
    std::int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] {
        return stopping_ || next_to_make_ >= end_ || next_to_make_ < next_to_return_ + options_.prefetch_batches;
      });
      if (stopping_ || next_to_make_ >= end_) return;
      index = next_to_make_++;
    }
    try {
      Batch batch = make_batch(order_, epoch_, index);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(index, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    made_cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_return_ >= end_) return std::nullopt;
  made_cv_.wait(lock, [&] { return failure_ || ready_.count(next_to_return_); });
  if (failure_) std::rethrow_exception(failure_);
  auto node = ready_.extract(next_to_return_);
  ++next_to_return_;
  lock.unlock();
  space_cv_.notify_all();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::move(node.mapped());
}

}  // namespace faceage::train
