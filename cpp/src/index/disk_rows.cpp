#include "disk_rows.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "ragtune/io/files.hpp"
#include "ragtune/io/mapped_file.hpp"

namespace ragtune::index {
namespace {

constexpr char magic[8] = {'R', 'A', 'G', 'T', 'F', '3', '2', '1'};
constexpr std::size_t header_bytes = 8 + 2 * sizeof(std::uint64_t);

// An unlinked file in $TMPDIR (or /tmp): it takes no name and disappears with the descriptor.
int temporary_file() {
  const char* folder = std::getenv("TMPDIR");
  const std::string where = folder != nullptr && *folder != '\0' ? folder : "/tmp";
  int fd = ::open(where.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string name = where + "/ragtune-rows-XXXXXX";  // filesystems without O_TMPFILE
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) io::throw_io_error("cannot create a temporary file for exact vectors in", where);
  ::unlink(buffer.data());
  return fd;
}

}  // namespace

disk_rows::disk_rows(std::size_t dim) : dim_(dim) {}

disk_rows::~disk_rows() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<disk_rows> disk_rows::open_saved(const std::string& path, std::size_t dim, std::size_t slots) {
  io::mapped_file file = io::mapped_file::open(path);  // read-only: make_room copies before any write
  auto bad = [&](const std::string& what) {
    return io::format_error(path + " is not a valid ragtune exact-vector file: " + what);
  };
  std::uint64_t header[2];
  if (file.size() < header_bytes || std::memcmp(file.data(), magic, 8) != 0) throw bad("wrong magic bytes");
  std::memcpy(header, file.data() + 8, sizeof(header));
  if (header[0] != dim || header[1] != slots) throw bad("its dimension or slot count differs from the index's");
  if (file.size() != header_bytes + slots * dim * sizeof(float)) throw bad("its length does not match its header");
  auto rows = std::make_unique<disk_rows>(dim);
  rows->rows_ = reinterpret_cast<float*>(file.data() + header_bytes);
  rows->saved_ = std::move(file);
  rows->slots_ = rows->capacity_ = slots;
  return rows;
}

void disk_rows::remap(std::size_t capacity) {
  const std::size_t size = std::max<std::size_t>(capacity * dim_ * sizeof(float), 1);
  // Blocks are reserved, not only the length set: writing into a hole of a full disk through
  // a mapping is a SIGBUS, a reservation that fails is an error here (ENOSPC) and nothing lost.
  if (const int error = ::posix_fallocate(fd_, 0, static_cast<off_t>(size)); error != 0) {
    // A failed reservation may keep what it got: give it back, keep the rows as they were.
    if (::ftruncate(fd_, static_cast<off_t>(mapping_ != nullptr ? mapping_size_ : 0)) != 0) {
      // nothing more to do: the error below is what the caller needs to know
    }
    throw io::io_error(error, "cannot reserve disk space for the float32 rows (rescore=True) in",
                       std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp");
  }
  void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (mapping == MAP_FAILED) io::throw_io_error("cannot map the exact-vector file", "");
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
  mapping_ = mapping;
  mapping_size_ = size;
  rows_ = static_cast<float*>(mapping);
  capacity_ = capacity;
}

void disk_rows::make_room(std::size_t slots) {
  if (fd_ < 0) {
    // The first rows, or a saved file's: into a temporary file of our own first.
    const float* saved = rows_;
    fd_ = temporary_file();
    remap(std::max({slots, slots_, std::size_t{1024}}));
    if (slots_ > 0) std::memcpy(rows_, saved, slots_ * dim_ * sizeof(float));
    saved_ = io::mapped_file();
  }
  if (slots > capacity_) remap(std::max(slots, capacity_ * 2));
}

void disk_rows::put(const float* rows, const std::int64_t* slots, std::size_t n) {
  std::size_t highest = slots_;
  for (std::size_t i = 0; i < n; ++i) highest = std::max(highest, static_cast<std::size_t>(slots[i]) + 1);
  make_room(highest);
  for (std::size_t i = 0; i < n; ++i)
    std::memcpy(rows_ + static_cast<std::size_t>(slots[i]) * dim_, rows + i * dim_, dim_ * sizeof(float));
  slots_ = highest;
}

void disk_rows::save(const std::string& path) const {
  std::FILE* f = io::open_file(path, "wb");
  try {
    const std::uint64_t header[2] = {dim_, slots_};
    io::write_all(f, magic, sizeof(magic), path);
    io::write_all(f, header, sizeof(header), path);
    io::write_all(f, rows_, slots_ * dim_ * sizeof(float), path);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  io::sync_and_close(f, path);
}

}  // namespace ragtune::index
