#pragma once
/// @file
/// @brief A growable bitset over slot numbers (alive slots, filter matches).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ragtune::index {

/// @brief Bits addressed by slot; out-of-range bits read as 0.
class bitset {
 public:
  bitset() = default;
  explicit bitset(std::size_t size) : words_((size + 63) / 64, 0), size_(size) {}

  /// @brief A bitset viewing @p words (little-endian bit order within each 64-bit word).
  static bitset from_words(const std::uint64_t* words, std::size_t size) {
    bitset out(size);
    for (std::size_t i = 0; i < out.words_.size(); ++i) out.words_[i] = words[i];
    out.clear_padding();
    return out;
  }

  std::size_t size() const noexcept { return size_; }
  bool test(std::size_t i) const noexcept { return i < size_ && (words_[i >> 6] >> (i & 63)) & 1u; }
  void set(std::size_t i) noexcept { words_[i >> 6] |= std::uint64_t(1) << (i & 63); }
  void reset(std::size_t i) noexcept { words_[i >> 6] &= ~(std::uint64_t(1) << (i & 63)); }
  void resize(std::size_t size) {
    words_.resize((size + 63) / 64, 0);
    size_ = size;
    clear_padding();
  }
  std::size_t count() const noexcept {
    std::size_t total = 0;
    for (auto w : words_) total += static_cast<std::size_t>(__builtin_popcountll(w));
    return total;
  }
  const std::vector<std::uint64_t>& words() const noexcept { return words_; }

  /// @brief Keeps only the bits also set in @p other (bits beyond other's size are cleared).
  void intersect(const bitset& other) noexcept {
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= w < other.words_.size() ? other.words_[w] : 0;
  }

  /// @brief Calls @p f(i) for every set bit, ascending.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      std::uint64_t bits = words_[w];
      while (bits) {
        f(w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits)));
        bits &= bits - 1;
      }
    }
  }

 private:
  void clear_padding() noexcept {
    if (size_ % 64 != 0 && !words_.empty()) words_.back() &= (std::uint64_t(1) << (size_ % 64)) - 1;
  }
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

}  // namespace ragtune::index
