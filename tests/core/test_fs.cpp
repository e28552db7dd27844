#include "faceage/core/fs.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "faceage/core/error.hpp"
#include "support/temp_dir.hpp"

namespace faceage {

TEST(Fs, AtomicWriteCreatesParentsAndLeavesNoTemp) {
  testing::TempDir dir;
  std::string path = dir.file("a/b/file.txt");
  write_file_atomic(path, std::string("hello"));
  write_file_atomic(path, std::string("world"));
  EXPECT_EQ(read_file_text(path), "world");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "a/b")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(Fs, Sha256OfKnownString) {
  std::string abc = "abc";
  EXPECT_EQ(sha256_hex(reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fs, MissingFileIsNotFound) {
  try {
    read_file_bytes("/nonexistent/x.jpg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace faceage
