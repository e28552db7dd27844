#pragma once
// A fresh directory per test, removed afterwards unless FACEAGE_KEEP_TEST_TMP is set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace faceage::testing {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
    const char* base = std::getenv("FACEAGE_TEST_TMP");
    path_ = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
            ("faceage-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (!std::getenv("FACEAGE_KEEP_TEST_TMP")) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string fixture(const std::string& name) { return std::string(FACEAGE_FIXTURES_DIR) + "/" + name; }

}  // namespace faceage::testing
