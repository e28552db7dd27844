#include "faceage/serve/access_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "faceage/core/error.hpp"
#include "faceage/core/fs.hpp"
#include "support/temp_dir.hpp"

namespace faceage::serve {
namespace {

TEST(AccessLog, WritesOneJsonObjectPerLine) {
  testing::TempDir dir;
  const auto path = dir.file("access.jsonl");
  {
    AccessLog log(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          AccessRecord r;
          r.request_id = "r" + std::to_string(t * 100 + i);
          r.method = "POST";
          r.path = "/v1/predict";
          r.status = 200;
          r.latency_ms = 12.3456;
          r.bytes_out = 99;
          r.faces = 1;
          log.write(r);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line);  // every line whole (no interleaving)
    EXPECT_EQ(json["status"], 200);
    EXPECT_EQ(json["faces"], 1);
    EXPECT_EQ(json["bytes"], 99);
    EXPECT_NEAR(json["latency_ms"].get<double>(), 12.346, 1e-9);
    EXPECT_EQ(json["time"].get<std::string>().back(), 'Z');
    ++lines;
  }
  EXPECT_EQ(lines, 200);
}

TEST(AccessLog, OmitsFacesForNonPredictionRoutesAndSurvivesBadUtf8) {
  AccessRecord r;
  r.path = std::string("/\xff\xfe");
  r.status = 404;
  auto json = nlohmann::json::parse(AccessLog::format(r));
  EXPECT_FALSE(json.contains("faces"));
  EXPECT_EQ(json["status"], 404);
}

TEST(AccessLog, DisabledWhenEmptyAndUnwritablePathIsAnIoError) {
  EXPECT_FALSE(AccessLog("").enabled());
  EXPECT_THROW(AccessLog("/nonexistent-dir/x/access.log"), Error);
}

}  // namespace
}  // namespace faceage::serve
