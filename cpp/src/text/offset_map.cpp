#include "ragtune/text/offset_map.hpp"

#include <algorithm>

#include "ragtune/simd/text_kernels.hpp"

namespace ragtune::text {
namespace {
const std::uint8_t* at(std::string_view text, std::size_t offset) {
  return reinterpret_cast<const std::uint8_t*>(text.data()) + offset;
}
bool continuation(std::string_view text, std::size_t i) { return (static_cast<std::uint8_t>(text[i]) & 0xC0) == 0x80; }
}  // namespace

offset_map::offset_map(std::string_view text) : offset_map(text, simd::is_ascii(at(text, 0), text.size())) {}

offset_map::offset_map(std::string_view text, bool ascii) : text_(text), ascii_(ascii) {}

void offset_map::build_checkpoints() const {
  if (!lines_.empty()) return;
  const std::size_t blocks = text_.size() / stride + 1;
  lines_.reserve(blocks);
  if (!ascii_) codepoints_.reserve(blocks);
  std::size_t lines = 0;
  std::size_t codepoints = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    lines_.push_back(lines);
    if (!ascii_) codepoints_.push_back(codepoints);
    const std::size_t from = b * stride;
    const std::size_t size = std::min(stride, text_.size() - std::min(from, text_.size()));
    lines += simd::count_byte(at(text_, from), size, '\n');
    if (!ascii_) codepoints += simd::count_codepoints(at(text_, from), size);
  }
}

const offset_map::cursor& offset_map::seek(cursor& c, std::size_t byte) const noexcept {
  byte = std::min(byte, text_.size());
  if (byte < c.byte) {
    // Backwards: restart from the checkpoint at or before the target.
    build_checkpoints();
    const std::size_t block = byte / stride;
    c.byte = block * stride;
    c.line = lines_[block];
    c.codepoint = ascii_ ? c.byte : codepoints_[block];
  }
  const std::size_t span = byte - c.byte;
  c.line += simd::count_byte(at(text_, c.byte), span, '\n');
  c.codepoint += ascii_ ? span : simd::count_codepoints(at(text_, c.byte), span);
  c.byte = byte;
  return c;
}

offset_map::cursor& offset_map::nearest(std::size_t byte) const noexcept {
  // The cursor closest behind the target; starts and ends of chunks each ascend,
  // so each cursor ends up following one of them.
  cursor& a = cursors_[0];
  cursor& b = cursors_[1];
  if (a.byte <= byte && b.byte <= byte) return a.byte >= b.byte ? a : b;
  if (a.byte <= byte) return a;
  if (b.byte <= byte) return b;
  return a.byte <= b.byte ? a : b;
}

std::size_t offset_map::codepoint(std::size_t byte) const noexcept {
  if (ascii_) return std::min(byte, text_.size());
  return seek(nearest(byte), byte).codepoint;
}

std::size_t offset_map::line(std::size_t byte) const noexcept { return seek(nearest(byte), byte).line; }

std::size_t offset_map::byte(std::size_t codepoint) const noexcept {
  if (ascii_) return std::min(codepoint, text_.size());
  build_checkpoints();
  // The last block starting at or before this code point, then a scan within it.
  const auto it = std::upper_bound(codepoints_.begin(), codepoints_.end(), codepoint);
  std::size_t position = static_cast<std::size_t>(it - codepoints_.begin() - 1) * stride;
  std::size_t seen = codepoints_[position / stride];
  // A block boundary may fall inside a character: skip to the next character start.
  while (position < text_.size() && continuation(text_, position)) ++position;
  while (position < text_.size() && seen < codepoint) {
    ++position;
    while (position < text_.size() && continuation(text_, position)) ++position;
    ++seen;
  }
  return position;
}

}  // namespace ragtune::text
