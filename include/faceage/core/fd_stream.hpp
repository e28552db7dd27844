#pragma once
// An input stream buffer over a POSIX file descriptor (standard input) that can tell whether a
// read would block. std::cin, synchronised with stdio as it is by default, answers in_avail() == 0
// even when a pipe holds data, so a reader that batches "what has already arrived"
// (infer::predict_stream) would always get batches of one. This buffer answers in_avail() from
// poll(), so a reader batches what a producer wrote ahead and never waits for a line not yet written.
#include <cstddef>
#include <streambuf>
#include <vector>

namespace faceage {

class FdInputBuffer : public std::streambuf {
 public:
  // Does not own `fd` (it is not closed). kIo from reads that fail (EINTR is retried).
  explicit FdInputBuffer(int fd, std::size_t buffer_bytes = 64 * 1024);

 protected:
  int_type underflow() override;
  // > 0: that many bytes can be read without blocking; -1: the next read reports the end; 0: a read
  // would block.
  std::streamsize showmanyc() override;

 private:
  int fd_;
  std::vector<char> buffer_;
};

}  // namespace faceage
