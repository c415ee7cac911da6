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

/// @brief How a vector's elements are stored: float32, IEEE half, or int8 codes that a
///        per-dimension scale turns back into values (code * scale[j]).
enum class row_type : std::uint8_t { f32 = 0, f16 = 1, i8 = 2 };

/// @brief Bytes per element of a row type.
constexpr std::size_t element_bytes(row_type type) noexcept {
  return type == row_type::f32 ? 4 : type == row_type::f16 ? 2 : 1;
}

/// @brief Rows by slot: row s starts at base + s * row_bytes(). @p scale (int8: dim floats)
///        and @p norms (each slot's squared norm) are read by the compact kernels.
struct slot_rows {
  const void* base = nullptr;
  std::size_t dim = 0;
  row_type type = row_type::f32;
  const float* scale = nullptr;
  const float* norms = nullptr;
  std::size_t row_bytes() const noexcept { return dim * element_bytes(type); }
  const void* row(std::size_t slot) const noexcept { return static_cast<const char*>(base) + slot * row_bytes(); }
};

/// @brief hnsw_distance over slot numbers: a and b point at slot numbers (std::size_t), the
///        parameter at a slot_rows; the distance is between rows *a and *b, decoded. For
///        compact rows L2 goes through the stored norms: |a|^2 + |b|^2 - 2 a.b.
distance_function hnsw_slot_distance(bool inner_product, row_type type = row_type::f32) noexcept;

/// @brief dot(query, row) for a row of @p dim halves.
float dot_f16(const float* query, const std::uint16_t* row, std::size_t dim) noexcept;
/// @brief dot(query, row) for a row of @p dim int8 codes (the query already multiplied by the
///        scale, so this is the dot product with the row's values).
float dot_i8(const float* query, const std::int8_t* row, std::size_t dim) noexcept;

/// @brief The active ISA's out[i] = dot(query, rows[i]) for n rows of this type given by address.
using gather_dot_function = void (*)(const float* query, const void* const* rows, std::size_t n, std::size_t dim,
                                     float* out) noexcept;
gather_dot_function gather_dot(row_type type) noexcept;

/// @brief Writes elements offset .. offset + count - 1 of a slot's row, decoded to floats.
void decode_row(const slot_rows& rows, std::size_t slot, std::size_t offset, std::size_t count, float* out) noexcept;

}  // namespace ragtune::simd
