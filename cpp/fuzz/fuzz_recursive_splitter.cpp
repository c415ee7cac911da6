/// @file
/// @brief Fuzzes the recursive chunker: random text and random options. Valid UTF-8
///        only (Python hands the core nothing else); every chunk must be a non-empty
///        in-bounds span on code-point boundaries, in order, and no longer than
///        chunk_size when the separators can always split (they end with "") and the
///        span is the chunk's text (separators kept).

#include <stdexcept>

#include "fuzz_input.hpp"
#include "ragtune/text/recursive_splitter.hpp"
#include "ragtune/text/utf8.hpp"

using namespace ragtune;

namespace {

std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  text::recursive_options options;
  options.chunk_size = 1 + in.byte() % 200;
  options.chunk_overlap = in.byte() % (options.chunk_size + 1);
  options.keep = static_cast<text::keep_separator>(in.byte() % 3);
  options.strip_whitespace = in.byte() & 1;
  const std::uint8_t separator_choice = in.byte();
  if (separator_choice & 1) {  // separators taken from the input itself, then the default tail
    options.separators = {in.take(1 + separator_choice % 4), "\n\n", "\n", " ", ""};
  }
  options.is_separator_regex = (separator_choice & 6) == 6;
  const std::string_view text = in.rest();
  if (text::first_invalid_utf8(text) != text.size()) return 0;
  for (const auto& separator : options.separators) {
    if (text::first_invalid_utf8(separator) != separator.size()) return 0;
  }
  try {
    const text::recursive_splitter splitter(options);
    const text::split_result result = splitter.split(text);
    std::size_t previous_begin = 0;
    for (const text::chunk_span& chunk : result.chunks) {
      RAGTUNE_FUZZ_CHECK(chunk.begin <= chunk.end && chunk.end <= text.size());
      RAGTUNE_FUZZ_CHECK(chunk.begin >= previous_begin);
      previous_begin = chunk.begin;
      const std::string_view piece = text.substr(chunk.begin, chunk.end - chunk.begin);
      RAGTUNE_FUZZ_CHECK(text::first_invalid_utf8(piece) == piece.size());  // code-point boundaries
      if (chunk.text_index < 0) {
        RAGTUNE_FUZZ_CHECK(!piece.empty());
        // With keep = none a chunk is the verbatim span, which also holds the dropped separators
        // LangChain's joined text leaves out (runs of spaces, say): only LangChain's text is bounded.
        if (!options.is_separator_regex && options.separators.back().empty() && options.chunk_overlap == 0 &&
            options.keep != text::keep_separator::none) {
          RAGTUNE_FUZZ_CHECK(code_points(piece) <= options.chunk_size);
        }
      } else {
        RAGTUNE_FUZZ_CHECK(static_cast<std::size_t>(chunk.text_index) < result.texts.size());
      }
    }
  } catch (const std::invalid_argument&) {  // documented: a regex separator that does not compile, ...
  }
  return 0;
}
