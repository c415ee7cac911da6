#pragma once
// Kernel functors: one template per kernel, instantiated once per ISA in
// kernels_<isa>.cpp (each compiled with its own flags) and called through
// dispatch.cpp. Everything here is noexcept: Debian's xsimd 8.1 dispatcher is.

#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "ragtune/simd/vector_kernels.hpp"

namespace ragtune::simd::kernels {

// The arch types behind each ISA translation unit (<name>_arch), from the ISA table.
#define RAGTUNE_ISA(name, arch_type, flags, check) using name##_arch = arch_type;
#include "simd/isa_table.def"
#undef RAGTUNE_ISA

struct count_codepoints {
  template <class Arch>
  std::size_t operator()(Arch, const std::uint8_t* data, std::size_t size) const noexcept;
};

struct count_byte {
  template <class Arch>
  std::size_t operator()(Arch, const std::uint8_t* data, std::size_t size, std::uint8_t value) const noexcept;
};

struct is_ascii {
  template <class Arch>
  bool operator()(Arch, const std::uint8_t* data, std::size_t size) const noexcept;
};

struct find_all {
  template <class Arch>
  std::size_t operator()(Arch, const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                         std::size_t needle_size, std::size_t* out, std::size_t capacity) const noexcept;
};

// out[q * ldo + i] = dot(queries[q], rows[i]) for q < nq, i < n (rows of `dim` floats).
struct dot_block {
  template <class Arch>
  void operator()(Arch, const float* queries, std::size_t nq, const float* rows, std::size_t n, std::size_t dim,
                  float* out, std::size_t ldo) const noexcept;
};

// out[i] += round(acc[i] * c): the product rounded before the sum, never fused, as
// torch computes W += (B @ A) * s.
struct add_product {
  template <class Arch>
  void operator()(Arch, float* out, const float* acc, float c, std::size_t n) const noexcept;
};

// out[r * ldo + i] += round(c * Σ_k left[r * rank + k] · right[k * cols + i]) for r < rows:
// a low-rank update of `rows` rows, each delta element an fma chain over k from zero
// (torch's CPU sgemm order), scaled, then added — register-blocked 4 rows at a time.
struct low_rank_add {
  template <class Arch>
  void operator()(Arch, const float* left, std::size_t rank, const float* right, std::size_t cols, float c, float* out,
                  std::size_t ldo, std::size_t rows) const noexcept;
};

// Exact widening of 16-bit floats to float32; `brain` picks bfloat16 over IEEE half.
struct widen_16 {
  template <class Arch>
  void operator()(Arch, const std::uint16_t* source, float* target, std::size_t n, bool brain) const noexcept;
};

// float32 to 16-bit floats, rounded once to nearest-even; NaN stays NaN.
struct narrow_16 {
  template <class Arch>
  void operator()(Arch, const float* source, std::uint16_t* target, std::size_t n, bool brain) const noexcept;
};

// signature[j] = min(signature[j], mix64(hashes[s] ^ seeds[j]) >> 32) over every s < count, j < size.
struct minhash_update {
  template <class Arch>
  void operator()(Arch, const std::uint64_t* hashes, std::size_t count, const std::uint64_t* seeds,
                  std::uint64_t* signature, std::size_t size) const noexcept;
};

// Distances in hnswlib's DISTFUNC form: (a, b, &dim) -> distance, lower is closer.
template <class Arch>
float hnsw_ip_distance(const void* a, const void* b, const void* dim) noexcept;  // 1 - dot(a, b)
template <class Arch>
float hnsw_l2_distance(const void* a, const void* b, const void* dim) noexcept;  // |a - b|^2
// The same between the rows of two slot numbers (a, b point at std::size_t; rows at a simd::slot_rows).
template <class Arch>
float hnsw_ip_slot_distance(const void* a, const void* b, const void* rows) noexcept;
template <class Arch>
float hnsw_l2_slot_distance(const void* a, const void* b, const void* rows) noexcept;

// dot(query, row) for a row of halves, or of int8 codes (the query pre-multiplied by the scale).
struct dot_f16 {
  template <class Arch>
  float operator()(Arch, const float* query, const std::uint16_t* row, std::size_t dim) const noexcept;
};
struct dot_i8 {
  template <class Arch>
  float operator()(Arch, const float* query, const std::int8_t* row, std::size_t dim) const noexcept;
};

// Elements offset .. offset + count - 1 of a slot's row, decoded to floats.
struct decode_row {
  template <class Arch>
  void operator()(Arch, const simd::slot_rows& rows, std::size_t slot, std::size_t offset, std::size_t count,
                  float* out) const noexcept;
};

// out[i] = dot(query, rows[i]) for n rows given by address (a graph node's neighbours), of
// each row type: float rows four at a time (the query loaded once for four rows).
template <class Arch>
void dot_gather_f32(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept;
template <class Arch>
void dot_gather_f16(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept;
template <class Arch>
void dot_gather_i8(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept;

// hnswlib distances between two slots' compact (f16 or int8) rows.
template <class Arch>
float hnsw_ip_compact_slot_distance(const void* a, const void* b, const void* rows) noexcept;
template <class Arch>
float hnsw_l2_compact_slot_distance(const void* a, const void* b, const void* rows) noexcept;

#define RAGTUNE_DECLARE_KERNELS(ARCH)                                                                                  \
  extern template std::size_t count_codepoints::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t)               \
      const noexcept;                                                                                                  \
  extern template std::size_t count_byte::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t, std::uint8_t)       \
      const noexcept;                                                                                                  \
  extern template bool is_ascii::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t) const noexcept;              \
  extern template std::size_t find_all::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t, const std::uint8_t*,  \
                                                         std::size_t, std::size_t*, std::size_t) const noexcept;       \
  extern template void dot_block::operator()<ARCH>(ARCH, const float*, std::size_t, const float*, std::size_t,         \
                                                   std::size_t, float*, std::size_t) const noexcept;                   \
  extern template void add_product::operator()<ARCH>(ARCH, float*, const float*, float, std::size_t) const noexcept;   \
  extern template void low_rank_add::operator()<ARCH>(ARCH, const float*, std::size_t, const float*, std::size_t,      \
                                                      float, float*, std::size_t, std::size_t) const noexcept;         \
  extern template void widen_16::operator()<ARCH>(ARCH, const std::uint16_t*, float*, std::size_t, bool)               \
      const noexcept;                                                                                                  \
  extern template void narrow_16::operator()<ARCH>(ARCH, const float*, std::uint16_t*, std::size_t, bool)              \
      const noexcept;                                                                                                  \
  extern template void minhash_update::operator()<ARCH>(ARCH, const std::uint64_t*, std::size_t, const std::uint64_t*, \
                                                        std::uint64_t*, std::size_t) const noexcept;                   \
  extern template float hnsw_ip_distance<ARCH>(const void*, const void*, const void*) noexcept;                        \
  extern template float hnsw_l2_distance<ARCH>(const void*, const void*, const void*) noexcept;                        \
  extern template float hnsw_ip_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;                   \
  extern template float hnsw_l2_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;                   \
  extern template float dot_f16::operator()<ARCH>(ARCH, const float*, const std::uint16_t*, std::size_t)               \
      const noexcept;                                                                                                  \
  extern template float dot_i8::operator()<ARCH>(ARCH, const float*, const std::int8_t*, std::size_t) const noexcept;  \
  extern template void decode_row::operator()<ARCH>(ARCH, const simd::slot_rows&, std::size_t, std::size_t,            \
                                                    std::size_t, float*) const noexcept;                               \
  extern template void dot_gather_f32<ARCH>(const float*, const void* const*, std::size_t, std::size_t,                \
                                            float*) noexcept;                                                          \
  extern template void dot_gather_f16<ARCH>(const float*, const void* const*, std::size_t, std::size_t,                \
                                            float*) noexcept;                                                          \
  extern template void dot_gather_i8<ARCH>(const float*, const void* const*, std::size_t, std::size_t,                 \
                                           float*) noexcept;                                                           \
  extern template float hnsw_ip_compact_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;           \
  extern template float hnsw_l2_compact_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;

#define RAGTUNE_ISA(name, arch_type, flags, check) RAGTUNE_DECLARE_KERNELS(name##_arch)
#include "simd/isa_table.def"
#undef RAGTUNE_ISA

}  // namespace ragtune::simd::kernels
