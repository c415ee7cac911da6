#pragma once
/// @file
/// @brief A model checkpoint as Hugging Face saves it: one model.safetensors, or
///        shards listed by model.safetensors.index.json. Every shard is opened
///        with the validating reader; the index must name each tensor once, point
///        only at shard files inside the checkpoint folder, and agree with the
///        shards' own headers.

#include <map>
#include <string>
#include <vector>

#include "ragtune/io/safetensors.hpp"

namespace ragtune::io {

/// @brief All tensors of a (possibly sharded) checkpoint, by name.
class checkpoint {
 public:
  /// @brief @p path is a folder (holding model.safetensors or model.safetensors.index.json),
  ///        a .safetensors file, or an index .json file.
  /// @throws std::runtime_error naming the file and the problem.
  static checkpoint open(const std::string& path, const read_limits& limits = {});

  /// @brief Tensor names in a stable order (shard, then data offset).
  const std::vector<std::string>& names() const noexcept { return names_; }
  /// @throws std::out_of_range naming the tensor.
  const tensor_info& info(const std::string& name) const;
  /// @brief The tensor's bytes inside its shard's mapping.
  const std::uint8_t* bytes(const std::string& name) const;
  /// @brief Drops the tensor's mapped pages in bytes [from, to) from resident memory (see safetensors_file::release).
  void release(const std::string& name, std::uint64_t from, std::uint64_t to) const;
  /// @brief Starts reading the tensor's pages in the background (see safetensors_file::prefetch).
  void prefetch(const std::string& name) const;
  /// @brief Maps the tensor's bytes [from, to) in one call (see safetensors_file::populate).
  void populate(const std::string& name, std::uint64_t from, std::uint64_t to) const;
  /// @brief Shard file names (relative to the folder), in index order.
  const std::vector<std::string>& shard_names() const noexcept { return shard_names_; }
  /// @brief The shard holding a tensor.
  const std::string& shard_of(const std::string& name) const;
  /// @brief The index's "metadata" object (e.g. total_size) as strings, or the single file's metadata.
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

 private:
  std::vector<safetensors_file> shards_;
  std::vector<std::string> shard_names_;
  std::map<std::string, std::pair<std::size_t, const tensor_info*>> tensors_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ragtune::io
