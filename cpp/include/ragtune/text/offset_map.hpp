#pragma once
/// @file
/// @brief Converts byte offsets of UTF-8 text to code-point offsets and line numbers,
///        and back, in O(stride) per query after one SIMD pass over the text.

#include <cstddef>
#include <string_view>
#include <vector>

namespace ragtune::text {

/// @brief Byte ↔ code-point ↔ line conversions for one text (which must outlive the map).
///        Queries at ascending offsets cost only the bytes between them; the 4 KiB
///        checkpoints for random access are built on the first backward query.
class offset_map {
 public:
  explicit offset_map(std::string_view text);
  offset_map(std::string_view text, bool ascii);

  /// @brief Code points before byte @p byte (a code-point boundary, at most text.size()).
  std::size_t codepoint(std::size_t byte) const noexcept;
  /// @brief Number of '\n' bytes before byte @p byte: the 0-based line it lies on.
  std::size_t line(std::size_t byte) const noexcept;
  /// @brief Byte offset of code point @p codepoint (clamped to the end of the text).
  std::size_t byte(std::size_t codepoint) const noexcept;
  /// @brief True when the text is pure ASCII (bytes and code points coincide).
  bool ascii() const noexcept { return ascii_; }

 private:
  // A position whose code-point and line counts are known.
  struct cursor {
    std::size_t byte = 0;
    std::size_t codepoint = 0;
    std::size_t line = 0;
  };
  static constexpr std::size_t stride = 4096;

  cursor& nearest(std::size_t byte) const noexcept;
  // Moves one of the cursors to @p byte and returns it.
  const cursor& seek(cursor& c, std::size_t byte) const noexcept;
  void build_checkpoints() const;

  std::string_view text_;
  bool ascii_;
  // Two cursors: chunk starts and chunk ends each ascend on their own.
  mutable cursor cursors_[2];
  mutable std::vector<std::size_t> codepoints_;  // code points before each stride boundary
  mutable std::vector<std::size_t> lines_;       // newlines before each stride boundary
};

}  // namespace ragtune::text
