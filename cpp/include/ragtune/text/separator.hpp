#pragma once
/// @file
/// @brief Finds a separator in text the way Python's re.search / re.split do, for a
///        literal separator (SIMD search) or a regular expression (PCRE2, JIT).

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ragtune/util/function_ref.hpp"

namespace ragtune::text {

/// @brief Thrown when a separator pattern does not compile; the message names it and the position.
struct pattern_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// @brief One separator: a literal string or a regular expression with Python's `re` semantics
///        (Unicode classes, `$` before a final newline, `\Z` at the very end, empty matches as
///        Python 3.7+ handles them). Thread-safe for concurrent searches.
class separator_matcher {
 public:
  /// @brief @p pattern is matched literally unless @p is_regex. An empty pattern means "every character".
  /// @throws pattern_error when a regex does not compile.
  separator_matcher(std::string pattern, bool is_regex);
  ~separator_matcher();
  separator_matcher(separator_matcher&&) noexcept;
  separator_matcher& operator=(separator_matcher&&) noexcept;

  /// @brief The pattern as given (what LangChain joins pieces with).
  const std::string& pattern() const noexcept { return pattern_; }
  /// @brief True for the empty separator, which splits into single code points.
  bool splits_characters() const noexcept { return pattern_.empty(); }
  bool is_regex() const noexcept { return is_regex_; }

  /// @brief Whether re.search(pattern, text) would find a match (an empty match counts).
  bool found_in(std::string_view text) const;

  /// @brief Calls @p on_match(begin, end) for each match re.split would split at, in order.
  /// @throws pattern_error when PCRE2 gives up (its match limit, on a backtracking-heavy pattern).
  void for_each_match(std::string_view text, util::function_ref<void(std::size_t, std::size_t)> on_match) const;

 private:
  struct regex;
  std::string pattern_;
  bool is_regex_;
  std::unique_ptr<regex> regex_;
};

}  // namespace ragtune::text
