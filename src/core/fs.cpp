#include "faceage/core/fs.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "faceage/core/error.hpp"

namespace faceage {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::kNotFound, "file '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::kInvalidArgument, "'" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot open '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(0);
  std::vector<std::uint8_t> bytes(size);
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw Error(ErrorCode::kIo, "cannot read '" + path + "'");
  }
  return bytes;
}

std::string read_file_text(const std::string& path) {
  auto bytes = read_file_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

std::string temp_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};  // uniqueness only; no behaviour depends on it
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

void replace_file(const std::string& temp_path, const std::string& path) {
  std::error_code ec;
  fs::rename(temp_path, path, ec);
  if (ec) {
    fs::remove(temp_path, ec);
    throw Error(ErrorCode::kIo, "cannot move '" + temp_path + "' to '" + path + "': " + ec.message());
  }
}

namespace {
void write_atomic(const std::string& path, const char* data, std::size_t size) {
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  std::string temp = temp_path_beside(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot write '" + temp + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < size) {
    ssize_t n = ::write(fd, data + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fs::remove(temp, ec);
      throw Error(ErrorCode::kIo, "cannot write '" + temp + "': " + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  replace_file(temp, path);
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_atomic(path, contents.data(), contents.size());
}

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& contents) {
  write_atomic(path, reinterpret_cast<const char*>(contents.data()), contents.size());
}

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string sha256_file(const std::string& path) {
  auto bytes = read_file_bytes(path);
  return sha256_hex(bytes.data(), bytes.size());
}

std::string executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

}  // namespace faceage
