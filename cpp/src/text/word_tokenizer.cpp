#include "ragtune/text/word_tokenizer.hpp"

#include <cstdint>

#include "ragtune/text/utf8.hpp"

namespace ragtune::text {
namespace {

enum class kind { separator, word, single };  // single: a token by itself (CJK)

kind classify(std::uint32_t cp) noexcept {
  if (cp < 0x80) {
    const bool alnum = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    return alnum || cp == '_' ? kind::word : kind::separator;
  }
  if (is_python_space(cp)) return kind::separator;
  if ((cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0x20000 && cp <= 0x2FA1F) || (cp >= 0x3040 && cp <= 0x30FF))
    return kind::single;
  // Punctuation and symbol blocks: Latin-1 punctuation, general punctuation,
  // arrows to dingbats, CJK punctuation, full-width ASCII punctuation, emoji.
  if ((cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
      (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
      (cp >= 0xFE00 && cp <= 0xFE0F))
    return kind::separator;
  return kind::word;
}

std::uint32_t lower(std::uint32_t cp) noexcept {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;     // Latin-1
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;  // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                 // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

void tokenize_words(std::string_view text, std::vector<std::string>& out) {
  std::string current;
  std::size_t characters = 0;
  auto flush = [&] {
    const bool single_ascii = characters == 1 && static_cast<unsigned char>(current[0]) < 0x80;
    if (!current.empty() && !single_ascii) out.push_back(current);
    current.clear();
    characters = 0;
  };
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = 0;
    const std::uint32_t cp = utf8_decode(text.data(), text.size(), at, length);
    at += length;
    switch (classify(cp)) {
      case kind::separator:
        flush();
        break;
      case kind::single:
        flush();
        append_utf8(current, cp);
        characters = 1;
        flush();
        break;
      case kind::word: {
        std::string encoded;
        append_utf8(encoded, lower(cp));
        if (current.size() + encoded.size() <= max_token_bytes) {
          current += encoded;
          ++characters;
        }
        break;
      }
    }
  }
  flush();
}

}  // namespace ragtune::text
