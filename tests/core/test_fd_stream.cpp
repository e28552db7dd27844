#include "faceage/core/fd_stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <istream>
#include <string>

#include "faceage/core/error.hpp"

namespace faceage {
namespace {

void write_all(int fd, const std::string& text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

TEST(FdInputBuffer, TellsWhatAPipeHoldsWithoutBlocking) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  FdInputBuffer buffer(fds[0], 4);  // smaller than a line: refills mid-line
  std::istream in(&buffer);
  EXPECT_EQ(buffer.in_avail(), 0) << "an empty, open pipe: a read would block";
  write_all(fds[1], "first\nsec");
  EXPECT_GT(buffer.in_avail(), 0);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "first");
  EXPECT_GT(buffer.in_avail(), 0) << "'sec' has arrived";
  write_all(fds[1], "ond\n");
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "second");
  EXPECT_EQ(buffer.in_avail(), 0);
  ::close(fds[1]);
  EXPECT_EQ(buffer.in_avail(), -1) << "a closed pipe: the next read reports the end";
  EXPECT_FALSE(std::getline(in, line));
  ::close(fds[0]);
}

TEST(FdInputBuffer, AFailedReadIsAnIoError) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  FdInputBuffer buffer(fds[1], 16);  // the write end: read() fails with EBADF
  try {
    buffer.sgetc();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace faceage
