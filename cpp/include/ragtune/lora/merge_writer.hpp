#pragma once
/// @file
/// @brief The streaming merge: each tensor of a base checkpoint copied, converted or
///        merged with its LoRA update straight into a checkpoint_writer, a window of rows
///        at a time (mapped in one call before it is merged, dropped after), rewinding
///        the tensor when a merge fails. Python decides what happens to each tensor; this
///        moves every byte, and the C++ tests, fuzzers and sanitizers reach it directly.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ragtune/io/checkpoint.hpp"
#include "ragtune/io/checkpoint_writer.hpp"
#include "ragtune/lora/merge.hpp"

namespace ragtune::lora {

/// @brief Writes a merged checkpoint through an io::checkpoint_writer.
class merge_writer {
 public:
  /// @param block_bytes bytes moved per step (copy pieces, merge windows); small values
  ///        let tests and fuzzers cross many windows with small tensors.
  /// @throws std::invalid_argument for a null writer or a zero @p block_bytes.
  explicit merge_writer(std::unique_ptr<io::checkpoint_writer> out, std::uint64_t block_bytes = default_block_bytes);

  /// @brief Copies a source tensor: byte for byte when the types agree, else converted (float types only).
  void copy(const std::string& name, const io::checkpoint& source, const std::string& source_name);

  /// @brief Writes base + update for a source tensor.
  /// @throws std::invalid_argument when the update does not fit the tensor (naming both shapes).
  void merge(const std::string& name, const io::checkpoint& source, const std::string& source_name,
             const tensor_update& update, int threads);

  /// @brief Writes base + update for base values held in memory (@p count fp32 values in the planned shape).
  void merge_values(const std::string& name, const float* base, std::size_t count, const tensor_update& update,
                    int threads);

  /// @brief Writes a whole float tensor from @p count fp32 values, converted to the planned type.
  void write_floats(const std::string& name, const float* values, std::size_t count);

  /// @brief Writes a whole tensor of any type from raw bytes (@p item_size bytes per element).
  void write_raw(const std::string& name, const void* data, std::size_t count, std::size_t item_size);

  /// @brief Publishes the checkpoint (see io::checkpoint_writer::commit).
  void commit();

  /// @brief The writer underneath (file order, staging folder, abort).
  io::checkpoint_writer& output() noexcept { return *out_; }

 private:
  const io::planned_tensor& check_shape(const std::string& name, const std::vector<std::uint64_t>& shape,
                                        std::uint64_t elements) const;
  void run_merge(const std::string& name, const io::planned_tensor& planned, const std::uint8_t* bytes,
                 io::dtype base_type, const std::vector<std::uint64_t>& shape, const tensor_update& update, int threads,
                 const io::checkpoint* source, const std::string& source_name);

  std::unique_ptr<io::checkpoint_writer> out_;
  std::uint64_t block_bytes_;
};

}  // namespace ragtune::lora
