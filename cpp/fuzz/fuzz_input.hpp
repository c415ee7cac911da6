#pragma once
/// @file
/// @brief Helpers shared by the fuzz targets: carve parameters off the front of the
///        input, write bytes to a private temporary file, fail loudly on a broken invariant.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ragtune::fuzz {

/// @brief Reads small integers from the start of the input; the rest is the payload.
class input {
 public:
  input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return size_ ? (--size_, *data_++) : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | (byte() << 8)); }
  std::string_view rest() const { return {reinterpret_cast<const char*>(data_), size_}; }
  /// @brief Takes up to @p n bytes as a string.
  std::string take(std::size_t n) {
    n = n < size_ ? n : size_;
    std::string out(reinterpret_cast<const char*>(data_), n);
    data_ += n;
    size_ -= n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

/// @brief A file in /tmp holding the given bytes, removed when this goes out of scope.
class temp_file {
 public:
  explicit temp_file(std::string_view bytes) {
    char name[] = "/tmp/ragtune-fuzz-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) std::abort();
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    path_ = name;
  }
  ~temp_file() { ::unlink(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// @brief A broken invariant is a bug: report it and crash so the fuzzer keeps the input.
#define RAGTUNE_FUZZ_CHECK(condition)                                                         \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

}  // namespace ragtune::fuzz
