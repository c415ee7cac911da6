#pragma once
/// @file
/// @brief A validating, memory-mapped safetensors reader. The whole format is
///        enforced before any tensor is exposed: 8-byte little-endian header length
///        (bounded), a JSON object parsed by nlohmann::json with duplicate names
///        refused, known dtypes, shapes whose byte size fits 64 bits and equals
///        the data_offsets span, offsets that tile the data buffer exactly (sorted,
///        contiguous, no holes, no overlaps), and a file length that matches.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ragtune/io/mapped_file.hpp"

namespace ragtune::io {

/// @brief The element types safetensors defines.
enum class dtype { boolean, u8, i8, f8_e5m2, f8_e4m3, i16, u16, f16, bf16, i32, u32, f32, f64, i64, u64 };

/// @brief Bytes per element.
std::size_t dtype_size(dtype type) noexcept;
/// @brief The format's name ("F32", "BF16", ...).
const char* dtype_name(dtype type) noexcept;
/// @brief The dtype a name denotes ("F32", ...); throws format_error naming the valid ones.
dtype parse_dtype(const std::string& name);
/// @brief Every dtype, in the format's table order (the one table of names and sizes).
std::vector<dtype> all_dtypes();

/// @brief One tensor's entry in the header; offsets are relative to the data buffer.
struct tensor_info {
  std::string name;
  dtype type;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t elements() const noexcept;
};

/// @brief Limits that keep hostile files from exhausting memory.
struct read_limits {
  std::uint64_t max_header_bytes = 100ull << 20;  ///< safetensors' own limit
  std::size_t max_tensors = 1u << 20;
  std::size_t max_rank = 16;
};

/// @brief A safetensors file, validated and mapped read-only. Movable, not copyable.
class safetensors_file {
 public:
  /// @throws std::runtime_error naming the file and the problem (std::system_error for I/O errors).
  static safetensors_file open(const std::string& path, const read_limits& limits = {});

  /// @brief Tensors in data order.
  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// @brief The tensor's bytes inside the mapping.
  const std::uint8_t* bytes(const tensor_info& tensor) const noexcept { return data_ + tensor.begin; }
  /// @throws std::out_of_range naming the tensor.
  const tensor_info& find(const std::string& name) const;
  std::uint64_t file_size() const noexcept { return file_.size(); }
  /// @brief Drops the mapped pages lying wholly inside bytes [from, to) of the tensor from
  ///        this process's memory (they are read again from the file if touched): lets a
  ///        streaming pass over a large checkpoint run in constant resident memory.
  void release(const tensor_info& tensor, std::uint64_t from, std::uint64_t to) const noexcept;
  /// @brief Asks the kernel to start reading the tensor's pages now (asynchronously), so a
  ///        pass over one tensor overlaps with the disk reading the next.
  void prefetch(const tensor_info& tensor) const noexcept;
  /// @brief Maps bytes [from, to) of the tensor into this process in one call (reading them if
  ///        needed) instead of one page fault per page on first touch.
  void populate(const tensor_info& tensor, std::uint64_t from, std::uint64_t to) const noexcept;

 private:
  safetensors_file() = default;
  std::vector<tensor_info> tensors_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, std::size_t> by_name_;
  mapped_file file_;  // read-only; movable, not copyable, and so is this
  const std::uint8_t* data_ = nullptr;
};

}  // namespace ragtune::io
