#pragma once
/// @file
/// @brief Byte-scanning kernels behind chunking, and the MinHash kernel behind RAFT's
///        near-duplicate test, dispatched to the active ISA.

#include <cstddef>
#include <cstdint>

namespace ragtune::simd {

/// @brief Number of UTF-8 code points in [data, data + size): bytes that are not continuation bytes.
std::size_t count_codepoints(const std::uint8_t* data, std::size_t size) noexcept;

/// @brief Number of bytes equal to @p value.
std::size_t count_byte(const std::uint8_t* data, std::size_t size, std::uint8_t value) noexcept;

/// @brief True when every byte is below 0x80.
bool is_ascii(const std::uint8_t* data, std::size_t size) noexcept;

/// @brief Writes to @p out the start of every occurrence (overlapping ones included) of
///        @p needle in the haystack whose start lies in [0, size - needle_size], in order,
///        stopping after @p capacity positions.
/// @return how many positions were written; the caller resumes after the last one when it equals capacity.
std::size_t find_all(const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                     std::size_t needle_size, std::size_t* out, std::size_t capacity) noexcept;

/// @brief signature[j] = min(signature[j], util::mix64(hashes[s] ^ seeds[j]) >> 32) for every
///        shingle hash s < count and j < size: one MinHash pass over a text's shingles.
void minhash_update(const std::uint64_t* hashes, std::size_t count, const std::uint64_t* seeds,
                    std::uint64_t* signature, std::size_t size) noexcept;

}  // namespace ragtune::simd
