#pragma once
// Float32 rows by slot kept in a file and mapped, not in the process's memory: the
// exact values behind compact (f16, int8) rows, read only to rescore a search's best
// candidates. A new index writes them to an unlinked temporary file (the kernel keeps
// the pages it is asked for, writes the rest back to disk); a loaded one maps the
// snapshot's file, copy-on-write, until its first change copies it into a new
// temporary file.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ragtune/io/mapped_file.hpp"

namespace ragtune::index {

class disk_rows {
 public:
  explicit disk_rows(std::size_t dim);
  ~disk_rows();
  disk_rows(const disk_rows&) = delete;
  disk_rows& operator=(const disk_rows&) = delete;

  // Maps a file save() wrote. @throws io::format_error for a file of another size or kind.
  static std::unique_ptr<disk_rows> open_saved(const std::string& path, std::size_t dim, std::size_t slots);

  std::size_t dim() const noexcept { return dim_; }
  std::size_t slots() const noexcept { return slots_; }
  // Stores n rows (dim floats each) into these slots, growing the file as needed.
  void put(const float* rows, const std::int64_t* slots, std::size_t n);
  const float* row(std::size_t slot) const noexcept { return rows_ + slot * dim_; }
  // Writes every slot's row to path (header, then the rows), fsynced.
  void save(const std::string& path) const;
  // Bytes of the mapping (file pages, resident only while used).
  std::size_t mapped_bytes() const noexcept { return slots_ * dim_ * sizeof(float); }

 private:
  void make_room(std::size_t slots);
  void remap(std::size_t capacity);

  std::size_t dim_;
  std::size_t slots_ = 0;
  std::size_t capacity_ = 0;  // slots the file and mapping hold
  int fd_ = -1;               // the temporary file (-1 before the first put, or while a saved file is mapped)
  void* mapping_ = nullptr;   // the temporary file's shared mapping
  std::size_t mapping_size_ = 0;
  io::mapped_file saved_;  // a saved file's rows, until the first change
  float* rows_ = nullptr;
};

}  // namespace ragtune::index
