#pragma once
/// @file
/// @brief The word tokeniser behind BM25 (documented in python/ragtune/index/bm25.py):
///        runs of letters, digits and '_' become tokens; ASCII, Latin-1, Greek and
///        Cyrillic capitals are lower-cased; each CJK ideograph or kana is a token of
///        its own; single ASCII characters are dropped; tokens are cut to 64 bytes.

#include <string>
#include <string_view>
#include <vector>

namespace ragtune::text {

/// @brief Appends the tokens of @p text (valid UTF-8) to @p out.
void tokenize_words(std::string_view text, std::vector<std::string>& out);

/// @brief The longest token kept, in bytes (longer runs are cut at a character boundary).
inline constexpr std::size_t max_token_bytes = 64;

}  // namespace ragtune::text
