#pragma once
// Kernel bodies, included only by the per-ISA translation units, which compile
// them with that ISA's flags and instantiate them for that ISA alone.

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/util/hash.hpp"
#include "simd/kernels.hpp"

namespace ragtune::simd::kernels {
namespace detail {

// x * y + z with one rounding where the ISA has FMA. xsimd 8.1 lowers fma on AVX-512 to a
// separate multiply and add, and these files compile with -ffp-contract=off, so AVX-512
// calls the intrinsic itself.
template <class Arch>
inline xsimd::batch<float, Arch> fused(const xsimd::batch<float, Arch>& x, const xsimd::batch<float, Arch>& y,
                                       const xsimd::batch<float, Arch>& z) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<typename xsimd::batch<float, Arch>::register_type, __m512>) {
    return _mm512_fmadd_ps(x, y, z);
  } else
#endif
  {
    return xsimd::fma(x, y, z);
  }
}

// xsimd 8.1 has no batch_bool::mask(); read the native mask register instead.
template <class Arch>
inline std::uint64_t movemask(const xsimd::batch_bool<std::uint8_t, Arch>& m) noexcept {
  using reg = typename xsimd::batch_bool<std::uint8_t, Arch>::register_type;
#if defined(__AVX512BW__)
  if constexpr (std::is_same_v<reg, __mmask64>) {
    return static_cast<std::uint64_t>(static_cast<reg>(m));
  } else
#endif
#if defined(__AVX2__)
      if constexpr (std::is_same_v<reg, __m256i>) {
    return static_cast<std::uint32_t>(_mm256_movemask_epi8(static_cast<reg>(m)));
  } else
#endif
  {
    static_assert(std::is_same_v<reg, __m128i>, "no movemask for this architecture");
    return static_cast<std::uint32_t>(_mm_movemask_epi8(static_cast<reg>(m)));
  }
}

// Counts lanes where `pick(load(p))` holds: one compare, one mask move and one
// popcount per block; the tail goes 8 bytes at a time (SWAR), since chunking asks
// about many short spans and a byte loop would dominate them.
template <class Arch, class Pick>
inline std::size_t count_lanes(const std::uint8_t* data, std::size_t size, Pick pick) noexcept {
  using bytes = xsimd::batch<std::uint8_t, Arch>;
  constexpr std::size_t width = bytes::size;
  std::size_t i = 0;
  std::size_t total = 0;
  for (; i + width <= size; i += width)
    total += static_cast<std::size_t>(__builtin_popcountll(movemask<Arch>(pick(bytes::load_unaligned(data + i)))));
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    total += pick.count_word(word);
  }
  for (; i < size; ++i) total += pick(data[i]) ? 1 : 0;
  return total;
}

constexpr std::uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
constexpr std::uint64_t high1 = 0x8080808080808080ULL;

// 0x80 in every byte of `word` that is zero, 0x00 elsewhere (exact: no carries between bytes).
inline std::uint64_t zero_bytes(std::uint64_t word) noexcept { return ~(((word & low7) + low7) | word | low7); }

}  // namespace detail

template <class Arch>
std::size_t count_codepoints::operator()(Arch, const std::uint8_t* data, std::size_t size) const noexcept {
  using bytes = xsimd::batch<std::uint8_t, Arch>;
  // Continuation bytes are 10xxxxxx; every other byte starts a code point.
  struct pick_t {
    xsimd::batch_bool<std::uint8_t, Arch> operator()(const bytes& v) const noexcept {
      return (v & bytes(std::uint8_t(0xC0))) != bytes(std::uint8_t(0x80));
    }
    bool operator()(std::uint8_t v) const noexcept { return (v & 0xC0) != 0x80; }
    std::size_t count_word(std::uint64_t word) const noexcept {
      // A continuation byte has bit 7 set and bit 6 clear; shifting by one puts bit 6 under bit 7.
      const std::uint64_t continuation = word & ~(word << 1) & detail::high1;
      return 8 - static_cast<std::size_t>(__builtin_popcountll(continuation));
    }
  };
  return detail::count_lanes<Arch>(data, size, pick_t{});
}

template <class Arch>
std::size_t count_byte::operator()(Arch, const std::uint8_t* data, std::size_t size,
                                   std::uint8_t value) const noexcept {
  using bytes = xsimd::batch<std::uint8_t, Arch>;
  struct pick_t {
    std::uint8_t value;
    xsimd::batch_bool<std::uint8_t, Arch> operator()(const bytes& v) const noexcept { return v == bytes(value); }
    bool operator()(std::uint8_t v) const noexcept { return v == value; }
    std::size_t count_word(std::uint64_t word) const noexcept {
      return static_cast<std::size_t>(__builtin_popcountll(detail::zero_bytes(word ^ (0x0101010101010101ULL * value))));
    }
  };
  return detail::count_lanes<Arch>(data, size, pick_t{value});
}

template <class Arch>
bool is_ascii::operator()(Arch, const std::uint8_t* data, std::size_t size) const noexcept {
  using bytes = xsimd::batch<std::uint8_t, Arch>;
  constexpr std::size_t width = bytes::size;
  std::size_t i = 0;
  bytes seen(std::uint8_t(0));
  for (; i + width <= size; i += width) seen |= bytes::load_unaligned(data + i);
  if (detail::movemask<Arch>(seen != (seen & bytes(std::uint8_t(0x7F)))) != 0) return false;
  for (; i < size; ++i)
    if (data[i] & 0x80) return false;
  return true;
}

template <class Arch>
std::size_t find_all::operator()(Arch, const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                                 std::size_t needle_size, std::size_t* out, std::size_t capacity) const noexcept {
  if (needle_size == 0 || needle_size > size || capacity == 0) return 0;
  using bytes = xsimd::batch<std::uint8_t, Arch>;
  constexpr std::size_t width = bytes::size;
  const std::size_t last_offset = needle_size - 1;
  const std::size_t last_start = size - needle_size;  // the last position a match can start at
  const bytes first(needle[0]);
  const bytes last(needle[last_offset]);
  std::size_t found = 0;
  std::size_t i = 0;
  // Muła's filter: a candidate must match the needle's first and last bytes;
  // only candidates are compared in full.
  for (; i + width <= last_start + 1; i += width) {
    auto hits =
        (bytes::load_unaligned(haystack + i) == first) & (bytes::load_unaligned(haystack + i + last_offset) == last);
    std::uint64_t mask = detail::movemask<Arch>(hits);
    while (mask != 0) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctzll(mask));
      mask &= mask - 1;
      if (needle_size <= 2 || std::memcmp(haystack + at + 1, needle + 1, needle_size - 2) == 0) {
        out[found++] = at;
        if (found == capacity) return found;
      }
    }
  }
  for (; i <= last_start; ++i) {
    if (haystack[i] == needle[0] && std::memcmp(haystack + i, needle, needle_size) == 0) {
      out[found++] = i;
      if (found == capacity) return found;
    }
  }
  return found;
}

namespace detail {

// dot(a, b) over `dim` floats: SIMD body with two accumulators, scalar tail.
template <class Arch>
inline float dot(const float* a, const float* b, std::size_t dim) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  floats acc0(0.0f), acc1(0.0f);
  std::size_t j = 0;
  for (; j + 2 * width <= dim; j += 2 * width) {
    acc0 = detail::fused(floats::load_unaligned(a + j), floats::load_unaligned(b + j), acc0);
    acc1 = detail::fused(floats::load_unaligned(a + j + width), floats::load_unaligned(b + j + width), acc1);
  }
  for (; j + width <= dim; j += width)
    acc0 = detail::fused(floats::load_unaligned(a + j), floats::load_unaligned(b + j), acc0);
  float sum = xsimd::hadd(acc0 + acc1);
  for (; j < dim; ++j) sum += a[j] * b[j];
  return sum;
}

template <class Arch>
inline float l2sq(const float* a, const float* b, std::size_t dim) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  floats acc(0.0f);
  std::size_t j = 0;
  for (; j + width <= dim; j += width) {
    const floats d = floats::load_unaligned(a + j) - floats::load_unaligned(b + j);
    acc = detail::fused(d, d, acc);
  }
  float sum = xsimd::hadd(acc);
  for (; j < dim; ++j) sum += (a[j] - b[j]) * (a[j] - b[j]);
  return sum;
}

// Which row's sum each lane of xsimd::haddp holds. Debian's xsimd 8.1 returns the
// AVX-512 lanes permuted (1 2 5 6 3 4 7 8 ...), so the order is measured once
// rather than assumed; a fixed xsimd gives the identity and costs nothing.
template <class Arch>
inline const std::uint8_t* haddp_order() noexcept {
  using floats = xsimd::batch<float, Arch>;
  static constexpr std::size_t width = floats::size;  // static: usable in the lambda without a capture
  static const auto order = [] {
    std::array<std::uint8_t, width> lanes{};
    floats rows[width];
    for (std::size_t i = 0; i < width; ++i) rows[i] = floats(static_cast<float>(i + 1));
    alignas(64) float sums[width];
    xsimd::haddp(rows).store_aligned(sums);
    for (std::size_t i = 0; i < width; ++i)
      lanes[i] = static_cast<std::uint8_t>(static_cast<std::size_t>(sums[i] / width + 0.5f) - 1);
    return lanes;
  }();
  return order.data();
}

// A tile of QT queries x RT rows: QT*RT accumulators, each query and row vector
// loaded once per step and reused RT / QT times (register blocking, as in GEMM).
template <class Arch, std::size_t QT, std::size_t RT>
inline void dot_tile(const float* const* q, const float* const* r, std::size_t dim, float* out,
                     std::size_t ldo) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  floats acc[QT][RT];
  for (std::size_t a = 0; a < QT; ++a)
    for (std::size_t b = 0; b < RT; ++b) acc[a][b] = floats(0.0f);
  std::size_t j = 0;
  for (; j + width <= dim; j += width) {
    floats rv[RT];
    for (std::size_t b = 0; b < RT; ++b) rv[b] = floats::load_unaligned(r[b] + j);
    for (std::size_t a = 0; a < QT; ++a) {
      const floats qv = floats::load_unaligned(q[a] + j);
      for (std::size_t b = 0; b < RT; ++b) acc[a][b] = detail::fused(qv, rv[b], acc[a][b]);
    }
  }
  constexpr std::size_t count = QT * RT;
  if constexpr (count % width == 0) {
    // Reduce `width` accumulators at once (a transpose-and-add), not one by one.
    const floats* flat = &acc[0][0];
    const std::uint8_t* order = haddp_order<Arch>();
    for (std::size_t g = 0; g < count; g += width) {
      alignas(64) float sums[width];
      xsimd::haddp(flat + g).store_aligned(sums);
      for (std::size_t i = 0; i < width; ++i) {
        const std::size_t a = (g + order[i]) / RT, b = (g + order[i]) % RT;
        float sum = sums[i];
        for (std::size_t t = j; t < dim; ++t) sum += q[a][t] * r[b][t];
        out[a * ldo + b] = sum;
      }
    }
  } else {
    for (std::size_t a = 0; a < QT; ++a) {
      for (std::size_t b = 0; b < RT; ++b) {
        float sum = xsimd::hadd(acc[a][b]);
        for (std::size_t t = j; t < dim; ++t) sum += q[a][t] * r[b][t];
        out[a * ldo + b] = sum;
      }
    }
  }
}

// The last (fewer than RT) rows through the same tile, padded with repeats of the last
// row: every (query, row) pair is then summed in the same order wherever the row sits,
// so an exact search gives a vector the same score in any slot (a synced index equals
// a fresh build bit for bit).
template <class Arch, std::size_t QT, std::size_t RT>
inline void dot_tile_tail(const float* const* q, const float* rows, std::size_t r0, std::size_t n, std::size_t dim,
                          float* out, std::size_t ldo) noexcept {
  const float* r[RT];
  for (std::size_t b = 0; b < RT; ++b) r[b] = rows + std::min(r0 + b, n - 1) * dim;
  float scores[QT * RT];
  dot_tile<Arch, QT, RT>(q, r, dim, scores, RT);
  for (std::size_t a = 0; a < QT; ++a)
    for (std::size_t b = 0; r0 + b < n; ++b) out[a * ldo + r0 + b] = scores[a * RT + b];
}

}  // namespace detail

template <class Arch>
void dot_block::operator()(Arch, const float* queries, std::size_t nq, const float* rows, std::size_t n,
                           std::size_t dim, float* out, std::size_t ldo) const noexcept {
  constexpr std::size_t qt = 4;
  constexpr std::size_t rt = 4;
  std::size_t q0 = 0;
  for (; q0 + qt <= nq; q0 += qt) {
    const float* q[qt];
    for (std::size_t a = 0; a < qt; ++a) q[a] = queries + (q0 + a) * dim;
    std::size_t r0 = 0;
    for (; r0 + rt <= n; r0 += rt) {
      const float* r[rt];
      for (std::size_t b = 0; b < rt; ++b) r[b] = rows + (r0 + b) * dim;
      detail::dot_tile<Arch, qt, rt>(q, r, dim, out + q0 * ldo + r0, ldo);
    }
    if (r0 < n) detail::dot_tile_tail<Arch, qt, rt>(q, rows, r0, n, dim, out + q0 * ldo, ldo);
  }
  // Remaining queries (fewer than a tile, e.g. a single query): one query against
  // one register's width of rows, reduced with a single haddp.
  constexpr std::size_t wide = xsimd::batch<float, Arch>::size;
  for (; q0 < nq; ++q0) {
    const float* q[1] = {queries + q0 * dim};
    std::size_t r0 = 0;
    for (; r0 + wide <= n; r0 += wide) {
      const float* r[wide];
      for (std::size_t b = 0; b < wide; ++b) r[b] = rows + (r0 + b) * dim;
      detail::dot_tile<Arch, 1, wide>(q, r, dim, out + q0 * ldo + r0, ldo);
    }
    if (r0 < n) detail::dot_tile_tail<Arch, 1, wide>(q, rows, r0, n, dim, out + q0 * ldo, ldo);
  }
}

template <class Arch>
float hnsw_ip_distance(const void* a, const void* b, const void* dim) noexcept {
  return 1.0f - detail::dot<Arch>(static_cast<const float*>(a), static_cast<const float*>(b),
                                  *static_cast<const std::size_t*>(dim));
}

template <class Arch>
float hnsw_l2_distance(const void* a, const void* b, const void* dim) noexcept {
  return detail::l2sq<Arch>(static_cast<const float*>(a), static_cast<const float*>(b),
                            *static_cast<const std::size_t*>(dim));
}

namespace detail {

inline const float* slot_row(const void* slot, const void* rows) noexcept {
  std::size_t s;
  std::memcpy(&s, slot, sizeof(s));
  const auto* r = static_cast<const simd::slot_rows*>(rows);
  return static_cast<const float*>(r->base) + s * r->dim;
}

}  // namespace detail

template <class Arch>
float hnsw_ip_slot_distance(const void* a, const void* b, const void* rows) noexcept {
  return 1.0f - detail::dot<Arch>(detail::slot_row(a, rows), detail::slot_row(b, rows),
                                  static_cast<const simd::slot_rows*>(rows)->dim);
}

template <class Arch>
float hnsw_l2_slot_distance(const void* a, const void* b, const void* rows) noexcept {
  return detail::l2sq<Arch>(detail::slot_row(a, rows), detail::slot_row(b, rows),
                            static_cast<const simd::slot_rows*>(rows)->dim);
}

// The kernel files compile with -ffp-contract=off, so `o + a * c` stays two roundings.
template <class Arch>
void add_product::operator()(Arch, float* out, const float* acc, float c, std::size_t n) const noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  const floats factor(c);
  std::size_t i = 0;
  for (; i + width <= n; i += width) {
    const floats product = floats::load_unaligned(acc + i) * factor;
    (floats::load_unaligned(out + i) + product).store_unaligned(out + i);
  }
  for (; i < n; ++i) {
    const float product = acc[i] * c;
    out[i] += product;
  }
}

namespace detail {

// R rows of the low-rank update; accumulators stay in registers across the rank.
template <std::size_t R, class Arch>
inline void low_rank_rows(const float* left, std::size_t rank, const float* right, std::size_t cols, float c,
                          float* out, std::size_t ldo) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  const floats scale(c);
  std::size_t i = 0;
  for (; i + 2 * width <= cols; i += 2 * width) {
    floats acc[R][2];
    for (std::size_t r = 0; r < R; ++r) acc[r][0] = acc[r][1] = floats(0.0f);
    for (std::size_t k = 0; k < rank; ++k) {
      const floats a0 = floats::load_unaligned(right + k * cols + i);
      const floats a1 = floats::load_unaligned(right + k * cols + i + width);
      for (std::size_t r = 0; r < R; ++r) {
        const floats b(left[r * rank + k]);
        acc[r][0] = fused(b, a0, acc[r][0]);
        acc[r][1] = fused(b, a1, acc[r][1]);
      }
    }
    for (std::size_t r = 0; r < R; ++r) {
      float* o = out + r * ldo + i;
      (floats::load_unaligned(o) + acc[r][0] * scale).store_unaligned(o);
      (floats::load_unaligned(o + width) + acc[r][1] * scale).store_unaligned(o + width);
    }
  }
  for (; i + width <= cols; i += width) {
    floats acc[R];
    for (std::size_t r = 0; r < R; ++r) acc[r] = floats(0.0f);
    for (std::size_t k = 0; k < rank; ++k) {
      const floats a = floats::load_unaligned(right + k * cols + i);
      for (std::size_t r = 0; r < R; ++r) acc[r] = fused(floats(left[r * rank + k]), a, acc[r]);
    }
    for (std::size_t r = 0; r < R; ++r) {
      float* o = out + r * ldo + i;
      (floats::load_unaligned(o) + acc[r] * scale).store_unaligned(o);
    }
  }
  for (; i < cols; ++i) {
    for (std::size_t r = 0; r < R; ++r) {
      float acc = 0.0f;
      for (std::size_t k = 0; k < rank; ++k) acc = std::fma(left[r * rank + k], right[k * cols + i], acc);
      const float product = acc * c;
      out[r * ldo + i] += product;
    }
  }
}

}  // namespace detail

template <class Arch>
void low_rank_add::operator()(Arch, const float* left, std::size_t rank, const float* right, std::size_t cols, float c,
                              float* out, std::size_t ldo, std::size_t rows) const noexcept {
  std::size_t r = 0;
  for (; r + 4 <= rows; r += 4)
    detail::low_rank_rows<4, Arch>(left + r * rank, rank, right, cols, c, out + r * ldo, ldo);
  for (; r < rows; ++r) detail::low_rank_rows<1, Arch>(left + r * rank, rank, right, cols, c, out + r * ldo, ldo);
}

namespace detail {

inline float bits_to_float(std::uint32_t bits) noexcept {
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

inline std::uint32_t float_to_bits(float value) noexcept {
  std::uint32_t out;
  std::memcpy(&out, &value, 4);
  return out;
}

// IEEE binary16 to binary32, exactly: subnormals are normalised through a float
// multiply (exact, since every half subnormal is a float normal).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  const std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
    return bits_to_float(sign | float_to_bits(magnitude));
  }
  if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000u | (mantissa << 13));
  return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// binary32 to binary16 with one round-to-nearest-even, overflow to infinity,
// gradual underflow, and NaN kept quiet with its sign.
inline std::uint16_t float_to_half(float value) noexcept {
  const std::uint32_t bits = float_to_bits(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u) return sign | (magnitude > 0x7F800000u ? 0x7E00u : 0x7C00u);
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;  // rounds past 65504
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half: scale so the float's rounding does the half's.
    // Adding 0.5 (2^-1) puts the half subnormal's last bit at the float's last mantissa bit.
    const float shifted = bits_to_float(magnitude) + 0.5f;
    return sign | static_cast<std::uint16_t>(float_to_bits(shifted) - 0x3F000000u);
  }
  const std::uint32_t odd = (magnitude >> 13) & 1u;
  const std::uint32_t rounded = magnitude + 0xC8000FFFu + odd;  // rebias exponent (-112 << 23) and round
  return sign | static_cast<std::uint16_t>(rounded >> 13);
}

inline std::uint16_t float_to_brain(float value) noexcept {
  const std::uint32_t bits = float_to_bits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
  return static_cast<std::uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace detail

// Plain loops: compiled with this ISA's flags they vectorise, and they are exact by construction.
template <class Arch>
void widen_16::operator()(Arch, const std::uint16_t* source, float* target, std::size_t n, bool brain) const noexcept {
  if (brain) {
    for (std::size_t i = 0; i < n; ++i) target[i] = detail::bits_to_float(static_cast<std::uint32_t>(source[i]) << 16);
  } else {
    for (std::size_t i = 0; i < n; ++i) target[i] = detail::half_to_float(source[i]);
  }
}

template <class Arch>
void narrow_16::operator()(Arch, const float* source, std::uint16_t* target, std::size_t n, bool brain) const noexcept {
  if (brain) {
    for (std::size_t i = 0; i < n; ++i) target[i] = detail::float_to_brain(source[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) target[i] = detail::float_to_half(source[i]);
  }
}

namespace detail {

// util::mix64 (SplitMix64's output function), lane by lane.
template <class Batch>
Batch mix64(Batch z) noexcept {
  z = (z ^ (z >> 30)) * Batch(0xBF58476D1CE4E5B9ULL);
  z = (z ^ (z >> 27)) * Batch(0x94D049BB133111EBULL);
  return z ^ (z >> 31);
}

}  // namespace detail

template <class Arch>
void minhash_update::operator()(Arch, const std::uint64_t* hashes, std::size_t count, const std::uint64_t* seeds,
                                std::uint64_t* signature, std::size_t size) const noexcept {
  using words = xsimd::batch<std::uint64_t, Arch>;
  constexpr std::size_t width = words::size;
  std::size_t j = 0;
  // Seeds and running minima stay in registers while every shingle hash passes.
  for (; j + width <= size; j += width) {
    const words seed = words::load_unaligned(seeds + j);
    words best = words::load_unaligned(signature + j);
    for (std::size_t s = 0; s < count; ++s) best = xsimd::min(best, detail::mix64(words(hashes[s]) ^ seed) >> 32);
    best.store_unaligned(signature + j);
  }
  for (; j < size; ++j)
    for (std::size_t s = 0; s < count; ++s)
      signature[j] = std::min(signature[j], util::mix64(hashes[s] ^ seeds[j]) >> 32);
}

// ---- compact rows: IEEE half and int8 codes ---------------------------------------

namespace detail {

// A finite IEEE half to float, branch-free (so the loops around it vectorise): the
// magnitude's bits shifted into a float's place, times 2^112 to rebias the exponent,
// which is exact for normals and subnormals alike. Rows never hold infinities or NaN.
inline float finite_half_to_float(std::uint16_t h) noexcept {
  const float magnitude = bits_to_float(static_cast<std::uint32_t>(h & 0x7FFFu) << 13) * 0x1p112f;
  return bits_to_float(float_to_bits(magnitude) | (static_cast<std::uint32_t>(h & 0x8000u) << 16));
}

constexpr std::size_t decode_chunk = 128;  // floats decoded per step: 512 bytes, in L1

// dot(q, decoded row): `decode(j, m, out)` writes elements j .. j + m - 1 of the row as
// floats (a plain loop that vectorises with this ISA's flags); the products are SIMD.
template <class Arch, class Decode>
inline float dot_decoded(const float* q, std::size_t dim, Decode decode) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  static_assert(decode_chunk % (2 * width) == 0);
  alignas(64) float buffer[decode_chunk];
  floats acc0(0.0f), acc1(0.0f);
  std::size_t j = 0;
  for (; j + decode_chunk <= dim; j += decode_chunk) {
    decode(j, decode_chunk, buffer);
    for (std::size_t i = 0; i < decode_chunk; i += 2 * width) {
      acc0 = fused(floats::load_unaligned(q + j + i), floats::load_aligned(buffer + i), acc0);
      acc1 = fused(floats::load_unaligned(q + j + i + width), floats::load_aligned(buffer + i + width), acc1);
    }
  }
  float tail = 0.0f;
  if (j < dim) {
    const std::size_t m = dim - j;
    decode(j, m, buffer);
    std::size_t i = 0;
    for (; i + width <= m; i += width)
      acc0 = fused(floats::load_unaligned(q + j + i), floats::load_aligned(buffer + i), acc0);
    for (; i < m; ++i) tail += q[j + i] * buffer[i];
  }
  return xsimd::hadd(acc0 + acc1) + tail;
}

// dot(decoded a, decoded b) for two stored rows, a chunk of each at a time.
template <class Arch, class DecodeA, class DecodeB>
inline float dot_decoded_pair(std::size_t dim, DecodeA decode_a, DecodeB decode_b) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  alignas(64) float left[decode_chunk];
  alignas(64) float right[decode_chunk];
  floats acc(0.0f);
  for (std::size_t j = 0; j < dim; j += decode_chunk) {
    const std::size_t m = std::min(decode_chunk, dim - j);
    decode_a(j, m, left);
    decode_b(j, m, right);
    const std::size_t padded = (m + width - 1) / width * width;
    for (std::size_t i = m; i < padded; ++i) left[i] = right[i] = 0.0f;
    for (std::size_t i = 0; i < padded; i += width)
      acc = fused(floats::load_aligned(left + i), floats::load_aligned(right + i), acc);
  }
  return xsimd::hadd(acc);
}

inline auto half_decoder(const std::uint16_t* row) noexcept {
  return [row](std::size_t j, std::size_t m, float* out) {
    for (std::size_t i = 0; i < m; ++i) out[i] = finite_half_to_float(row[j + i]);
  };
}

// int8 codes as floats; with `scale`, times the scale (the row's values).
inline auto code_decoder(const std::int8_t* row, const float* scale = nullptr) noexcept {
  return [row, scale](std::size_t j, std::size_t m, float* out) {
    if (scale == nullptr) {
      for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<float>(row[j + i]);
    } else {
      for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<float>(row[j + i]) * scale[j + i];
    }
  };
}

// A slot's row, and a slot number read from where hnswlib points.
inline std::size_t slot_at(const void* slot) noexcept {
  std::size_t s;
  std::memcpy(&s, slot, sizeof(s));
  return s;
}

// dot of two stored compact rows: the values of one against the other's (codes times
// the scale twice for int8: sum a_j s_j * b_j s_j).
template <class Arch>
inline float slot_dot(const simd::slot_rows& r, std::size_t a, std::size_t b) noexcept {
  if (r.type == simd::row_type::f16) {
    const auto* rows = static_cast<const std::uint16_t*>(r.base);
    return dot_decoded_pair<Arch>(r.dim, half_decoder(rows + a * r.dim), half_decoder(rows + b * r.dim));
  }
  const auto* rows = static_cast<const std::int8_t*>(r.base);
  return dot_decoded_pair<Arch>(r.dim, code_decoder(rows + a * r.dim, r.scale),
                                code_decoder(rows + b * r.dim, r.scale));
}

}  // namespace detail

namespace detail {

// dot(q, row) where `widen(j)` gives elements j .. j + width - 1 of the row as one float
// register (converted in registers) and `scalar(j)` one element, for the tail.
template <class Arch, class Widen, class Scalar>
inline float dot_widened(const float* q, std::size_t dim, Widen widen, Scalar scalar) noexcept {
  using floats = xsimd::batch<float, Arch>;
  constexpr std::size_t width = floats::size;
  floats acc0(0.0f), acc1(0.0f);
  std::size_t j = 0;
  for (; j + 2 * width <= dim; j += 2 * width) {
    acc0 = fused(floats::load_unaligned(q + j), floats(widen(j)), acc0);
    acc1 = fused(floats::load_unaligned(q + j + width), floats(widen(j + width)), acc1);
  }
  for (; j + width <= dim; j += width) acc0 = fused(floats::load_unaligned(q + j), floats(widen(j)), acc0);
  float sum = xsimd::hadd(acc0 + acc1);
  for (; j < dim; ++j) sum += q[j] * scalar(j);
  return sum;
}

#if defined(__AVX512F__)
template <class Arch>
constexpr bool is_avx512 = std::is_same_v<typename xsimd::batch<float, Arch>::register_type, __m512>;
#endif

}  // namespace detail

template <class Arch>
float dot_f16::operator()(Arch, const float* query, const std::uint16_t* row, std::size_t dim) const noexcept {
  auto scalar = [row](std::size_t j) { return detail::finite_half_to_float(row[j]); };
#if defined(__AVX512F__)
  // AVX-512F converts 16 halves at once (vcvtph2ps); the other ISAs decode blocks.
  if constexpr (detail::is_avx512<Arch>) {
    auto widen = [row](std::size_t j) {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)));
    };
    return detail::dot_widened<Arch>(query, dim, widen, scalar);
  } else
#endif
  {
    (void)scalar;
    return detail::dot_decoded<Arch>(query, dim, detail::half_decoder(row));
  }
}

template <class Arch>
float dot_i8::operator()(Arch, const float* query, const std::int8_t* row, std::size_t dim) const noexcept {
  auto scalar = [row](std::size_t j) { return static_cast<float>(row[j]); };
#if defined(__AVX512F__)
  // Codes sign-extended to int32 and converted in registers: two instructions, no buffer.
  if constexpr (detail::is_avx512<Arch>) {
    auto widen = [row](std::size_t j) {
      return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j))));
    };
    return detail::dot_widened<Arch>(query, dim, widen, scalar);
  } else
#endif
#if defined(__AVX2__)
      if constexpr (std::is_same_v<typename xsimd::batch<float, Arch>::register_type, __m256>) {
    auto widen = [row](std::size_t j) {
      std::int64_t eight;
      std::memcpy(&eight, row + j, sizeof(eight));
      return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight)));
    };
    return detail::dot_widened<Arch>(query, dim, widen, scalar);
  } else
#endif
  {
    (void)scalar;
    return detail::dot_decoded<Arch>(query, dim, detail::code_decoder(row));
  }
}

template <class Arch>
void decode_row::operator()(Arch, const simd::slot_rows& rows, std::size_t slot, std::size_t offset, std::size_t count,
                            float* out) const noexcept {
  switch (rows.type) {
    case simd::row_type::f32:
      std::memcpy(out, static_cast<const float*>(rows.base) + slot * rows.dim + offset, count * sizeof(float));
      break;
    case simd::row_type::f16:
      detail::half_decoder(static_cast<const std::uint16_t*>(rows.base) + slot * rows.dim)(offset, count, out);
      break;
    case simd::row_type::i8:
      detail::code_decoder(static_cast<const std::int8_t*>(rows.base) + slot * rows.dim, rows.scale)(offset, count,
                                                                                                     out);
      break;
  }
}

template <class Arch>
void dot_gather_f32(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept {
  const float* q[1] = {query};
  const auto* floats = reinterpret_cast<const float* const*>(rows);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) detail::dot_tile<Arch, 1, 8>(q, floats + i, dim, out + i, 8);
  for (; i + 4 <= n; i += 4) detail::dot_tile<Arch, 1, 4>(q, floats + i, dim, out + i, 4);
  for (; i < n; ++i) out[i] = detail::dot<Arch>(query, floats[i], dim);
}

template <class Arch>
void dot_gather_f16(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = dot_f16{}(Arch{}, query, static_cast<const std::uint16_t*>(rows[i]), dim);
}

template <class Arch>
void dot_gather_i8(const float* query, const void* const* rows, std::size_t n, std::size_t dim, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = dot_i8{}(Arch{}, query, static_cast<const std::int8_t*>(rows[i]), dim);
}

template <class Arch>
float hnsw_ip_compact_slot_distance(const void* a, const void* b, const void* rows) noexcept {
  const auto& r = *static_cast<const simd::slot_rows*>(rows);
  return 1.0f - detail::slot_dot<Arch>(r, detail::slot_at(a), detail::slot_at(b));
}

template <class Arch>
float hnsw_l2_compact_slot_distance(const void* a, const void* b, const void* rows) noexcept {
  const auto& r = *static_cast<const simd::slot_rows*>(rows);
  const std::size_t sa = detail::slot_at(a), sb = detail::slot_at(b);
  return r.norms[sa] + r.norms[sb] - 2.0f * detail::slot_dot<Arch>(r, sa, sb);
}

#define RAGTUNE_INSTANTIATE_KERNELS(ARCH)                                                                            \
  template std::size_t count_codepoints::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t) const noexcept;    \
  template std::size_t count_byte::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t, std::uint8_t)            \
      const noexcept;                                                                                                \
  template bool is_ascii::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t) const noexcept;                   \
  template std::size_t find_all::operator()<ARCH>(ARCH, const std::uint8_t*, std::size_t, const std::uint8_t*,       \
                                                  std::size_t, std::size_t*, std::size_t) const noexcept;            \
  template void dot_block::operator()<ARCH>(ARCH, const float*, std::size_t, const float*, std::size_t, std::size_t, \
                                            float*, std::size_t) const noexcept;                                     \
  template void add_product::operator()<ARCH>(ARCH, float*, const float*, float, std::size_t) const noexcept;        \
  template void low_rank_add::operator()<ARCH>(ARCH, const float*, std::size_t, const float*, std::size_t, float,    \
                                               float*, std::size_t, std::size_t) const noexcept;                     \
  template void widen_16::operator()<ARCH>(ARCH, const std::uint16_t*, float*, std::size_t, bool) const noexcept;    \
  template void narrow_16::operator()<ARCH>(ARCH, const float*, std::uint16_t*, std::size_t, bool) const noexcept;   \
  template void minhash_update::operator()<ARCH>(ARCH, const std::uint64_t*, std::size_t, const std::uint64_t*,      \
                                                 std::uint64_t*, std::size_t) const noexcept;                        \
  template float hnsw_ip_distance<ARCH>(const void*, const void*, const void*) noexcept;                             \
  template float hnsw_l2_distance<ARCH>(const void*, const void*, const void*) noexcept;                             \
  template float hnsw_ip_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;                        \
  template float hnsw_l2_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;                        \
  template float dot_f16::operator()<ARCH>(ARCH, const float*, const std::uint16_t*, std::size_t) const noexcept;    \
  template float dot_i8::operator()<ARCH>(ARCH, const float*, const std::int8_t*, std::size_t) const noexcept;       \
  template void decode_row::operator()<ARCH>(ARCH, const simd::slot_rows&, std::size_t, std::size_t, std::size_t,    \
                                             float*) const noexcept;                                                 \
  template void dot_gather_f32<ARCH>(const float*, const void* const*, std::size_t, std::size_t, float*) noexcept;   \
  template void dot_gather_f16<ARCH>(const float*, const void* const*, std::size_t, std::size_t, float*) noexcept;   \
  template void dot_gather_i8<ARCH>(const float*, const void* const*, std::size_t, std::size_t, float*) noexcept;    \
  template float hnsw_ip_compact_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;                \
  template float hnsw_l2_compact_slot_distance<ARCH>(const void*, const void*, const void*) noexcept;

}  // namespace ragtune::simd::kernels
