#include "ragtune/io/direct_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "ragtune/io/files.hpp"

namespace ragtune::io {
namespace {

// O_DIRECT needs buffer, offset and length aligned to the logical block size; 4 KiB covers
// every common device. The buffer is large enough that each write is one big request.
constexpr std::size_t alignment = 4096;
constexpr std::size_t capacity = 16u << 20;

}  // namespace

direct_stream::direct_stream(const std::string& path, int buffered_fd) : path_(path), buffered_fd_(buffered_fd) {
  direct_fd_ = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (direct_fd_ < 0) return;  // e.g. tmpfs: stay buffered
  buffer_ = {static_cast<std::uint8_t*>(std::aligned_alloc(alignment, capacity)), &std::free};
  if (!buffer_) {
    ::close(direct_fd_);
    direct_fd_ = -1;
  }
}

direct_stream::direct_stream(direct_stream&& other) noexcept
    : path_(std::move(other.path_)),
      buffered_fd_(other.buffered_fd_),
      direct_fd_(other.direct_fd_),
      buffer_(std::move(other.buffer_)),
      buffer_start_(other.buffer_start_),
      fill_(other.fill_) {
  other.direct_fd_ = -1;
}

direct_stream::~direct_stream() { release(); }

void direct_stream::release() noexcept {
  if (direct_fd_ >= 0) ::close(direct_fd_);
  direct_fd_ = -1;
}

void direct_stream::flush_full() {
  write_all_at(direct_fd_, buffer_.get(), capacity, buffer_start_, path_);
  buffer_start_ += capacity;
  fill_ = 0;
}

void direct_stream::stop_streaming() {
  // What is buffered goes out through the page cache; the direct descriptor is done.
  if (fill_ > 0) write_all_at(buffered_fd_, buffer_.get(), fill_, buffer_start_, path_);
  fill_ = 0;
  release();
}

void direct_stream::write(std::uint64_t offset, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  if (direct_fd_ >= 0 && offset != buffer_start_ + fill_) stop_streaming();
  if (direct_fd_ < 0) {
    write_all_at(buffered_fd_, bytes, size, offset, path_);
    return;
  }
  while (size > 0) {
    const std::size_t n = std::min(size, capacity - fill_);
    std::memcpy(buffer_.get() + fill_, bytes, n);
    fill_ += n;
    bytes += n;
    size -= n;
    if (fill_ == capacity) flush_full();
  }
}

void direct_stream::finish(std::uint64_t file_size) {
  if (direct_fd_ >= 0 && fill_ > 0) {
    // The last block is padded to the alignment, then the file is cut back to its size.
    const std::size_t padded = (fill_ + alignment - 1) / alignment * alignment;
    std::memset(buffer_.get() + fill_, 0, padded - fill_);
    write_all_at(direct_fd_, buffer_.get(), padded, buffer_start_, path_);
    fill_ = 0;
  }
  release();
  if (::ftruncate(buffered_fd_, static_cast<off_t>(file_size)) != 0) throw_io_error("cannot size", path_);
}

}  // namespace ragtune::io
