#pragma once
/// @file
/// @brief One tensor of a LoRA merge: base + sum of low-rank deltas (+ a dense delta),
///        optionally rescaled per row or column by a DoRA magnitude, computed in fp32
///        and rounded once to the output type. Rows stream out in blocks, so memory
///        stays at one block however large the tensor.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ragtune/io/safetensors.hpp"
#include "ragtune/util/function_ref.hpp"

namespace ragtune::lora {

/// @brief delta = scale * left (rows x rank) @ right (rank x cols), both row-major fp32,
///        already in the stored tensor's orientation.
struct low_rank {
  const float* left = nullptr;
  const float* right = nullptr;
  std::size_t rank = 0;
  float scale = 1.0f;
  /// The factors' outer dimensions (left's rows, right's cols), checked against the tensor.
  std::size_t rows = 0;
  std::size_t cols = 0;
};

/// @brief Everything added to one base tensor (seen as rows x cols).
struct tensor_update {
  std::vector<low_rank> terms;
  /// rows x cols, added after the low-rank terms (combinations, biases); may be null.
  const float* dense = nullptr;
  std::size_t dense_size = 0;
  /// DoRA: the merged weight is scaled by magnitude / norm, the norm taken over each row
  /// (magnitude has rows entries) or, with @c magnitude_per_column, each column.
  const float* magnitude = nullptr;
  std::size_t magnitude_size = 0;
  bool magnitude_per_column = false;
  /// Refuse a result holding NaN or infinity.
  bool require_finite = false;
};

/// @brief Output block handed to the sink: whole rows, in order.
using block_sink = util::function_ref<void(const std::uint8_t* bytes, std::size_t size)>;

/// @brief Output bytes handed to a sink at a time by default: large enough to amortise
///        each call, small enough that memory stays flat however large the tensor.
inline constexpr std::uint64_t default_block_bytes = 8u << 20;

/// @brief Rows merge_tensor hands to its sink at a time (@p block_bytes of output, at least one row).
std::uint64_t rows_per_block(std::uint64_t cols, io::dtype out_type,
                             std::uint64_t block_bytes = default_block_bytes) noexcept;

/// @brief Types a merge computes with: F32, F16, BF16.
bool is_float_type(io::dtype type) noexcept;

/// @brief Merges one tensor. @p base holds rows x cols elements of @p base_type.
/// @throws std::invalid_argument for non-float types; std::domain_error naming @p name
///         when @c require_finite and the result is not finite.
/// @param block_bytes output per sink call (tests and fuzzers make it small to cross many blocks)
void merge_tensor(const std::string& name, const std::uint8_t* base, io::dtype base_type, std::uint64_t rows,
                  std::uint64_t cols, const tensor_update& update, io::dtype out_type, int threads, block_sink sink,
                  std::uint64_t block_bytes = default_block_bytes);

/// @brief Converts float elements between F32/F16/BF16 (rounded once, nearest-even), in blocks.
void convert_tensor(const std::string& name, const std::uint8_t* source, io::dtype source_type, std::uint64_t count,
                    io::dtype out_type, block_sink sink, std::uint64_t block_bytes = default_block_bytes);

}  // namespace ragtune::lora
