#pragma once
/// @file
/// @brief Sequential writes to a file through O_DIRECT, bypassing the page cache: the
///        bytes go from one aligned buffer straight to the disk, instead of being copied
///        into cached pages that the kernel must later flush (and that throttle writers
///        while dirty). Used for checkpoint shards, which are written front to back.
///        Falls back to the ordinary descriptor when the filesystem refuses O_DIRECT or
///        a write is not at the stream's end.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ragtune::io {

class direct_stream {
 public:
  /// @brief Opens @p path a second time with O_DIRECT; @p buffered_fd stays the fallback.
  direct_stream(const std::string& path, int buffered_fd);
  ~direct_stream();
  direct_stream(const direct_stream&) = delete;
  direct_stream& operator=(const direct_stream&) = delete;
  direct_stream(direct_stream&&) noexcept;
  direct_stream& operator=(direct_stream&&) = delete;

  /// @brief Writes @p size bytes at @p offset: streamed if @p offset is where the stream ends,
  ///        else (and from then on) through the buffered descriptor.
  /// @throws std::system_error on I/O errors.
  void write(std::uint64_t offset, const void* data, std::size_t size);
  /// @brief Writes out what is buffered and leaves the file exactly @p file_size bytes long.
  void finish(std::uint64_t file_size);
  bool direct() const noexcept { return direct_fd_ >= 0; }

 private:
  void flush_full();
  void stop_streaming();
  void release() noexcept;

  std::string path_;
  int buffered_fd_ = -1;
  int direct_fd_ = -1;
  std::unique_ptr<std::uint8_t, void (*)(void*)> buffer_{nullptr, nullptr};
  std::uint64_t buffer_start_ = 0;  ///< file offset of buffer_[0], a multiple of the alignment
  std::size_t fill_ = 0;
};

}  // namespace ragtune::io
