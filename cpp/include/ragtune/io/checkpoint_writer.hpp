#pragma once
/// @file
/// @brief Writes a checkpoint the way Hugging Face lays one out — model.safetensors, or
///        model-0000i-of-0000n.safetensors shards plus model.safetensors.index.json —
///        streaming each tensor's bytes straight to its place in its shard. The layout
///        is fixed up front from the planned names, types and shapes, so tensors may be
///        written in any order and in pieces. Everything goes into a hidden temporary
///        folder beside the destination; commit() makes it durable and renames it into
///        place, so a failed or abandoned write leaves nothing behind.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ragtune/io/direct_stream.hpp"
#include "ragtune/io/safetensors.hpp"

namespace ragtune::io {

/// @brief One tensor the writer will hold.
struct planned_tensor {
  std::string name;
  dtype type;
  std::vector<std::uint64_t> shape;
};

class checkpoint_writer {
 public:
  /// @brief Plans the shards: tensors in the given order fill a shard until the next one
  ///        would pass @p shard_bytes (a larger tensor gets a shard of its own). Inside a
  ///        shard tensors are ordered by element size, largest first, so each starts
  ///        aligned to its element size (the header is padded to 8 bytes).
  /// @throws std::invalid_argument (duplicate names, overflowing sizes, zero shard size),
  ///         std::runtime_error if @p out_dir exists, std::system_error for I/O errors.
  ///        Files are named @p stem.safetensors, or @p stem-0000i-of-0000n.safetensors plus
  ///        @p stem.safetensors.index.json ("model" for models, "adapter_model" for PEFT adapters).
  checkpoint_writer(std::string out_dir, std::vector<planned_tensor> tensors, std::uint64_t shard_bytes,
                    std::map<std::string, std::string> metadata = {{"format", "pt"}}, std::string stem = "model");
  ~checkpoint_writer();  ///< Removes the temporary folder unless committed.
  checkpoint_writer(const checkpoint_writer&) = delete;
  checkpoint_writer& operator=(const checkpoint_writer&) = delete;

  /// @brief Appends @p size bytes to tensor @p name (pieces arrive in order).
  /// @throws std::out_of_range for an unknown name, std::length_error past the tensor's size.
  void append(const std::string& name, const void* data, std::size_t size);
  /// @brief The planned entry (type and shape) of a tensor.
  const planned_tensor& planned(const std::string& name) const;
  /// @brief Tensor names in file order (shard by shard, by offset): writing in this order
  ///        lets every shard stream to disk front to back.
  std::vector<std::string> file_order() const;
  /// @brief Bytes the tensor still expects.
  std::uint64_t remaining(const std::string& name) const;
  /// @brief Forgets what was written to @p name so it can be written again (after a failed merge of it).
  void rewind(const std::string& name);

  /// @brief Checks every tensor is complete, writes the index, fsyncs files and folder, and renames
  ///        the temporary folder to the destination (never replacing an existing one).
  void commit();
  /// @brief Removes the temporary folder now; later calls fail.
  void abort() noexcept;

  /// @brief Where files are being written; extra files (config.json, ...) may be added here before commit().
  const std::string& staging_dir() const noexcept { return staging_; }
  const std::string& out_dir() const noexcept { return out_; }
  std::size_t shard_count() const noexcept { return shards_.size(); }
  std::uint64_t total_bytes() const noexcept { return total_; }
  bool committed() const noexcept { return committed_; }

 private:
  struct slot {
    planned_tensor tensor;
    std::size_t shard = 0;
    std::uint64_t file_offset = 0;  ///< absolute, within the shard file
    std::uint64_t size = 0;
    std::uint64_t written = 0;
  };
  struct shard {
    std::string file_name;
    int fd = -1;
    std::uint64_t size = 0;
    std::unique_ptr<direct_stream> stream;
  };
  slot& find(const std::string& name);
  const slot& find(const std::string& name) const;
  void ensure_open() const;

  std::string out_;
  std::string stem_;
  std::string staging_;
  std::vector<slot> slots_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<shard> shards_;
  std::uint64_t total_ = 0;
  bool committed_ = false;
  bool aborted_ = false;
};

}  // namespace ragtune::io
