#include "ragtune/io/files.hpp"

#include <unistd.h>

#include <cerrno>

namespace ragtune::io {

void throw_io_error(const std::string& what, const std::string& path) { throw io_error(errno, what, path); }

std::FILE* open_file(const std::string& path, const char* mode) {
  std::FILE* f = std::fopen(path.c_str(), mode);
  if (f == nullptr) throw_io_error(mode[0] == 'r' ? "cannot open" : "cannot create", path);
  return f;
}

void write_all(std::FILE* f, const void* data, std::size_t size, const std::string& path) {
  if (size > 0 && std::fwrite(data, 1, size, f) != size) throw_io_error("cannot write", path);
}

void write_all_at(int fd, const void* data, std::size_t size, std::uint64_t offset, const std::string& path) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("cannot write", path);
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

void sync_fd(int fd, const std::string& path) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) throw_io_error("cannot sync", path);
  }
}

void sync_and_close(std::FILE* f, const std::string& path) {
  int error = 0;
  if (std::fflush(f) != 0) error = errno;
  if (error == 0 && ::fsync(::fileno(f)) != 0) error = errno;
  if (std::fclose(f) != 0 && error == 0) error = errno;  // close reports delayed write errors (NFS, quota)
  if (error != 0) throw io_error(error, "cannot write", path);
}

}  // namespace ragtune::io
