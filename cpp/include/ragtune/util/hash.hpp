#pragma once
/// @file
/// @brief Small, stable, non-cryptographic hashing and random streams (the same on
///        every platform and run, so hashed features and seeded samples reproduce).

#include <cstdint>
#include <string_view>

namespace ragtune::util {

/// @brief FNV-1a, 64-bit, continuing from @p hash.
inline std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 14695981039346656037ULL) noexcept {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

/// @brief SplitMix64's output function: a strong 64-bit mix.
inline std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// @brief A SplitMix64 random stream; below(n) is unbiased (Lemire's method).
class random_stream {
 public:
  explicit random_stream(std::uint64_t seed) noexcept : state_(seed) {}
  /// @brief An independent stream for item @p index of a run seeded with @p seed.
  static random_stream for_item(std::uint64_t seed, std::uint64_t index) noexcept {
    return random_stream(mix64(seed ^ mix64(index + 0x9E3779B97F4A7C15ULL)));
  }
  std::uint64_t next() noexcept { return mix64(state_ += 0x9E3779B97F4A7C15ULL); }
  /// @brief Uniform in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) noexcept {
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

 private:
  std::uint64_t state_;
};

}  // namespace ragtune::util
