#pragma once
/// @file
/// @brief One error scheme for files, and the one "write everything, then fsync" helper.
///
/// I/O failures are `io_error` (a `std::system_error` carrying errno and the path):
/// Python sees OSError(errno, strerror, path), e.g. "No space left on device". Files
/// that are not what they claim are `format_error`: Python sees ValueError. One
/// translator in cpp/bindings/module.cpp maps both.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace ragtune::io {

/// @brief An operating-system I/O failure on one path.
class io_error : public std::system_error {
 public:
  /// @param action what was being done ("cannot write"), without the path
  io_error(int code, std::string action, std::string path)
      : std::system_error(code, std::generic_category(), action + " " + path),
        action_(std::move(action)),
        path_(std::move(path)) {}
  /// @brief What was being done, without the path.
  const std::string& action() const noexcept { return action_; }
  /// @brief The file or folder the failure concerns.
  const std::string& path() const noexcept { return path_; }

 private:
  std::string action_;
  std::string path_;
};

/// @brief A file whose content is damaged, truncated or not in the expected format.
class format_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// @brief Throws io_error with the current errno ("cannot write", path).
[[noreturn]] void throw_io_error(const std::string& what, const std::string& path);

/// @brief Opens a file with std::fopen, or throws io_error.
std::FILE* open_file(const std::string& path, const char* mode);

/// @brief Writes all `size` bytes with stdio, or throws io_error naming the path.
void write_all(std::FILE* f, const void* data, std::size_t size, const std::string& path);

/// @brief Writes all `size` bytes at `offset` with pwrite (retrying EINTR), or throws io_error.
void write_all_at(int fd, const void* data, std::size_t size, std::uint64_t offset, const std::string& path);

/// @brief Flushes, fsyncs and closes `f` (always closed); io_error when the data did not reach the disk.
void sync_and_close(std::FILE* f, const std::string& path);

/// @brief fsyncs an open descriptor, or throws io_error.
void sync_fd(int fd, const std::string& path);

}  // namespace ragtune::io
