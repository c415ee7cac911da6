#pragma once
/// @file
/// @brief A whole file mapped into memory, private: pages are read from the page cache
///        when first touched and shared with every process that maps the same file.
///        Read-only, or copy-on-write (a write makes a private copy of its page and never
///        reaches the file).

#include <cstddef>
#include <string>

namespace ragtune::io {

class mapped_file {
 public:
  /// @throws io_error naming the path when the file cannot be opened or mapped.
  static mapped_file open(const std::string& path, bool writable = false);
  mapped_file() = default;
  ~mapped_file();
  mapped_file(mapped_file&& other) noexcept;
  mapped_file& operator=(mapped_file&& other) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  char* data() const noexcept { return static_cast<char*>(mapping_); }
  std::size_t size() const noexcept { return size_; }

 private:
  void* mapping_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ragtune::io
