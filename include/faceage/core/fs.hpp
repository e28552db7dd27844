#pragma once
// File helpers with clear errors. Writes that must not be torn go through a temp file + rename.
#include <cstdint>
#include <string>
#include <vector>

namespace faceage {

std::vector<std::uint8_t> read_file_bytes(const std::string& path);  // kNotFound / kIo
std::string read_file_text(const std::string& path);
// Writes to "<path>.tmp.<pid>.<n>", flushes, fsyncs and renames over `path` (creating parent dirs).
void write_file_atomic(const std::string& path, const std::string& contents);
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& contents);
// Renames a finished temp file over `path` (same directory); kIo on failure.
void replace_file(const std::string& temp_path, const std::string& path);
// A unique temp path beside `path` for callers that write with their own writer.
std::string temp_path_beside(const std::string& path);
// Hex SHA-256 of bytes / a file's contents (for cache keys and data checksums).
std::string sha256_hex(const std::uint8_t* data, std::size_t size);
std::string sha256_file(const std::string& path);
// Directory of the running executable (for finding bundled models next to the build).
std::string executable_dir();

}  // namespace faceage
