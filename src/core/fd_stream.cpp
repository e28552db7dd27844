#include "faceage/core/fd_stream.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "faceage/core/error.hpp"

namespace faceage {

FdInputBuffer::FdInputBuffer(int fd, std::size_t buffer_bytes) : fd_(fd), buffer_(buffer_bytes > 0 ? buffer_bytes : 1) {
  setg(buffer_.data(), buffer_.data(), buffer_.data());
}

FdInputBuffer::int_type FdInputBuffer::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  ssize_t got;
  do {
    got = ::read(fd_, buffer_.data(), buffer_.size());
  } while (got < 0 && errno == EINTR);
  if (got < 0) throw Error(ErrorCode::kIo, std::string("cannot read the input: ") + std::strerror(errno));
  if (got == 0) return traits_type::eof();
  setg(buffer_.data(), buffer_.data(), buffer_.data() + got);
  return traits_type::to_int_type(*gptr());
}

std::streamsize FdInputBuffer::showmanyc() {
  // Only called when the buffer is empty. poll() says "readable" both for data and for the end
  // (a closed pipe, a regular file), so read now (it cannot block) and report what it brought.
  pollfd request{fd_, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&request, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return 0;
  if (traits_type::eq_int_type(underflow(), traits_type::eof())) return -1;
  return egptr() - gptr();
}

}  // namespace faceage
