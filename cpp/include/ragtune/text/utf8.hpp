#pragma once
/// @file
/// @brief UTF-8 helpers with Python's notion of whitespace. Inputs are valid UTF-8
///        (the bindings only pass text that came from a Python str).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace ragtune::text {

/// @brief Byte length of the UTF-8 sequence that starts with @p lead (1 for stray bytes).
inline std::size_t utf8_sequence_length(std::uint8_t lead) noexcept {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

/// @brief Decodes the code point starting at @p data[pos]; stores its byte length in @p length.
inline std::uint32_t utf8_decode(const char* data, std::size_t size, std::size_t pos, std::size_t& length) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(data) + pos;
  length = utf8_sequence_length(p[0]);
  if (pos + length > size) length = 1;
  switch (length) {
    case 2:
      return (std::uint32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
      return (std::uint32_t(p[0] & 0x0F) << 12) | (std::uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    case 4:
      return (std::uint32_t(p[0] & 0x07) << 18) | (std::uint32_t(p[1] & 0x3F) << 12) |
             (std::uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    default:
      return p[0];
  }
}

/// @brief Start of the code point that ends just before byte @p end (end > 0).
inline std::size_t utf8_previous(const char* data, std::size_t end) noexcept {
  std::size_t pos = end - 1;
  while (pos > 0 && (static_cast<std::uint8_t>(data[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

/// @brief Exactly the characters Python's str.isspace() and str.strip() treat as whitespace.
inline bool is_python_space(std::uint32_t cp) noexcept {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

/// @brief [begin, end) with Python-whitespace removed from both ends, like str.strip().
inline std::pair<std::size_t, std::size_t> strip_python_space(const char* data, std::size_t begin,
                                                              std::size_t end) noexcept {
  std::size_t length = 0;
  while (begin < end && is_python_space(utf8_decode(data, end, begin, length))) begin += length;
  while (end > begin) {
    const std::size_t start = utf8_previous(data, end);
    if (!is_python_space(utf8_decode(data, end, start, length))) break;
    end = start;
  }
  return {begin, end};
}

/// @brief Offset of the first invalid byte of @p text, or text.size() when it is valid UTF-8
///        (no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t first_invalid_utf8(std::string_view text) noexcept;

}  // namespace ragtune::text
