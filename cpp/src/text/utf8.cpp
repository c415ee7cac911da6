#include "ragtune/text/utf8.hpp"

namespace ragtune::text {

std::size_t first_invalid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t lead = p[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t min = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2;
      min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      min = 0x10000;
    } else
      return i;
    if (i + length > n) return i;
    for (std::size_t k = 1; k < length; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    std::size_t decoded_length = 0;
    const std::uint32_t cp = utf8_decode(text.data(), n, i, decoded_length);
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return n;
}

}  // namespace ragtune::text
