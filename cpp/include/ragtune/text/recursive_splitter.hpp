#pragma once
/// @file
/// @brief LangChain's RecursiveCharacterTextSplitter algorithm over byte spans of
///        UTF-8 text, with lengths in code points, tokens, or a callback.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ragtune/text/separator.hpp"

namespace ragtune::text {

/// @brief Where a kept separator goes: dropped, at the start of the next piece, or the end of the previous.
enum class keep_separator { none, start, end };

/// @brief Options of the recursive splitter; the meaning of each is LangChain's.
struct recursive_options {
  std::size_t chunk_size = 1000;
  std::size_t chunk_overlap = 200;
  std::vector<std::string> separators{"\n\n", "\n", " ", ""};
  keep_separator keep = keep_separator::start;
  bool is_separator_regex = false;
  bool strip_whitespace = true;
  /// When pieces are joined with a separator that is not the text between them
  /// (keep = none), produce LangChain's joined text instead of the original span.
  bool langchain_text = false;
};

/// @brief How long a piece is. Character lengths count code points (Python's len).
struct length_spec {
  enum class kind { characters, tokens, callback };
  kind mode = kind::characters;
  /// tokens: byte offsets where the document's tokens start, ascending. A piece's
  /// length is the number of token starts inside it.
  const std::size_t* token_starts = nullptr;
  std::size_t token_count = 0;
  /// tokens: length of each separator (parallel to recursive_options::separators).
  std::vector<std::size_t> separator_lengths;
  /// callback: called with each piece, as LangChain calls its length_function.
  std::function<std::size_t(std::string_view)> callback;
};

/// @brief One chunk: a byte span of the input, and (only when its text is not that
///        span, see recursive_options::langchain_text) an index into split_result::texts.
struct chunk_span {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::int64_t text_index = -1;
};

/// @brief The chunks of one document, in order.
struct split_result {
  std::vector<chunk_span> chunks;
  std::vector<std::string> texts;
  /// Whether the text was pure ASCII (found while measuring; saves a pass for offset maps).
  bool ascii = false;
};

/// @brief Splits text exactly as LangChain's RecursiveCharacterTextSplitter, in linear time.
///        Immutable after construction; split() may run concurrently from many threads.
class recursive_splitter {
 public:
  /// @brief The most separators a splitter takes (each is one level of recursion).
  static constexpr std::size_t max_separators = 128;

  /// @throws std::invalid_argument for chunk_size == 0 or chunk_overlap > chunk_size;
  /// @throws pattern_error for a regex separator that does not compile.
  explicit recursive_splitter(recursive_options options);

  /// @brief Splits @p text (valid UTF-8).
  split_result split(std::string_view text, const length_spec& length = {}) const;

  const recursive_options& options() const noexcept { return options_; }

 private:
  recursive_options options_;
  std::vector<separator_matcher> matchers_;
};

}  // namespace ragtune::text
