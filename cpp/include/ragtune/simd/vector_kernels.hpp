#pragma once
/// @file
/// @brief Float kernels behind vector search, dispatched to the active ISA.

#include <cstddef>
#include <cstdint>

namespace ragtune::simd {

/// @brief out[q * ldo + i] = dot(queries[q], rows[i]) for q < nq, i < n; vectors have @p dim floats.
///        Register-blocked 4 queries x 4 rows.
void dot_block(const float* queries, std::size_t nq, const float* rows, std::size_t n, std::size_t dim, float* out,
               std::size_t ldo) noexcept;

/// @brief out[i] += round(acc[i] * c): product and sum rounded separately (never fused), the
///        order torch uses for W += (B @ A) * s.
void add_product(float* out, const float* acc, float c, std::size_t n) noexcept;

/// @brief out[r * ldo + i] += round(c * (left @ right)[r, i]) for r < rows, i < cols; left is
///        rows x rank, right rank x cols (row-major). Each product element is an fma chain over
///        the rank from zero, rounded, scaled, rounded, then added: torch's order for
///        W += (B @ A) * s on the CPU, so merges match PEFT bit for bit.
void low_rank_add(const float* left, std::size_t rank, const float* right, std::size_t cols, float c, float* out,
                  std::size_t ldo, std::size_t rows) noexcept;

/// @brief Exact widening of bfloat16 (@p brain) or IEEE half bit patterns to float32.
void widen_16(const std::uint16_t* source, float* target, std::size_t n, bool brain) noexcept;

/// @brief float32 to bfloat16 (@p brain) or IEEE half, rounded once to nearest-even; NaN stays NaN,
///        values past the largest finite become infinity.
void narrow_16(const float* source, std::uint16_t* target, std::size_t n, bool brain) noexcept;

/// @brief A distance in hnswlib's DISTFUNC form: (a, b, pointer to the dimension as size_t).
using distance_function = float (*)(const void*, const void*, const void*);

/// @brief The active ISA's distance: 1 - dot(a, b) when @p inner_product, else squared L2.
distance_function hnsw_distance(bool inner_product) noexcept;

/// @brief Rows of floats: row s is base + s * dim.
struct slot_rows {
  const float* base = nullptr;
  std::size_t dim = 0;
};

/// @brief hnsw_distance over slot numbers: a and b point at slot numbers (std::size_t), the
///        parameter at a slot_rows; the distance is between rows *a and *b.
distance_function hnsw_slot_distance(bool inner_product) noexcept;

}  // namespace ragtune::simd
