#include "faceage/serve/batcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "faceage/core/error.hpp"

namespace faceage::serve {
namespace {

using Clock = std::chrono::steady_clock;

// A crop whose first pixel encodes an id; the fake model answers age = id.
cv::Mat crop(int id) { return cv::Mat(4, 4, CV_8UC3, cv::Scalar(id, 0, 0)); }

struct FakeModel {
  std::atomic<int> calls{0};
  std::vector<std::size_t> sizes;
  std::mutex mutex;
  std::chrono::milliseconds delay{0};
  std::vector<infer::CropAnswer> operator()(const std::vector<cv::Mat>& crops) {
    ++calls;
    {
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(crops.size());
    }
    std::this_thread::sleep_for(delay);
    std::vector<infer::CropAnswer> answers;
    for (const auto& c : crops) {
      infer::CropAnswer a;
      a.age = c.at<cv::Vec3b>(0, 0)[0];
      answers.push_back(a);
    }
    return answers;
  }
};

TEST(Batcher, ConcurrentRequestsShareModelCallsAndGetTheirOwnAnswers) {
  FakeModel model;
  model.delay = std::chrono::milliseconds(20);
  std::atomic<std::size_t> largest{0};
  DynamicBatcher batcher({8, 50.0}, std::ref(model), [&](const BatchStats& s) {
    std::size_t seen = largest;
    while (s.crops > seen && !largest.compare_exchange_weak(seen, s.crops)) {
    }
  });
  constexpr int kThreads = 12;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        const int base = t * 10 + round * 3 % 7;
        auto answers = batcher.run({crop(base), crop(base + 1)});
        if (answers.size() != 2 || answers[0].age != base || answers[1].age != base + 1) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(largest.load(), 2u) << "no batch merged two requests";
  EXPECT_LT(model.calls.load(), kThreads * 3);
  for (auto size : model.sizes) EXPECT_LE(size, 8u);
}

TEST(Batcher, LoneAnnouncedRequestDoesNotWaitForTheDeadline) {
  FakeModel model;
  DynamicBatcher batcher({16, 2000.0}, std::ref(model));
  auto ticket = batcher.announce();
  const auto start = Clock::now();
  auto answers = batcher.run({crop(7)}, ticket);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].age, 7);
}

TEST(Batcher, WaitsForAnnouncedRequestsUpToTheDeadline) {
  FakeModel model;
  DynamicBatcher batcher({16, 300.0}, std::ref(model));
  auto late = batcher.announce();  // announced, arrives 100 ms later
  std::thread second([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    batcher.run({crop(2)}, late);
  });
  auto first = batcher.announce();
  batcher.run({crop(1)}, first);
  second.join();
  ASSERT_EQ(model.sizes.size(), 1u) << "the first request should have waited for the announced one";
  EXPECT_EQ(model.sizes[0], 2u);
}

TEST(Batcher, WithdrawnAnnouncementReleasesTheBatch) {
  FakeModel model;
  DynamicBatcher batcher({16, 5000.0}, std::ref(model));
  std::optional<DynamicBatcher::Ticket> failing(batcher.announce());
  std::thread withdraw([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    failing.reset();  // that request failed before reaching the model
  });
  const auto start = Clock::now();
  auto ticket = batcher.announce();
  batcher.run({crop(3)}, ticket);
  withdraw.join();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2000));
}

TEST(Batcher, RequestLargerThanTheBatchRunsAlone) {
  FakeModel model;
  DynamicBatcher batcher({2, 0.0}, std::ref(model));
  auto answers = batcher.run({crop(1), crop(2), crop(3)});
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[2].age, 3);
}

TEST(Batcher, ModelErrorsReachEveryRequestOfTheBatch) {
  DynamicBatcher batcher({4, 0.0}, [](const std::vector<cv::Mat>&) -> std::vector<infer::CropAnswer> {
    throw Error(ErrorCode::kModel, "broken");
  });
  try {
    batcher.run({crop(1)});
    FAIL() << "expected the model error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModel);
  }
  // The batcher survives and keeps answering.
  EXPECT_THROW(batcher.run({crop(1)}), Error);
}

TEST(Batcher, EmptyRequestsNeverReachTheModel) {
  FakeModel model;
  DynamicBatcher batcher({4, 0.0}, std::ref(model));
  EXPECT_TRUE(batcher.run({}).empty());
  EXPECT_EQ(model.calls, 0);
}

TEST(Batcher, RejectsBadOptions) {
  EXPECT_THROW(validate(BatcherOptions{0, 1.0}), Error);
  EXPECT_THROW(validate(BatcherOptions{1, -1.0}), Error);
}

}  // namespace
}  // namespace faceage::serve
