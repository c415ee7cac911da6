#pragma once
/// @file
/// @brief Feature hashing: text -> a fixed-size vector with no model. Each word
///        (text::tokenize_words) and, optionally, each pair of adjacent words adds
///        +1 or -1 (by one bit of its FNV-1a hash) at (hash mod dim); rows are then
///        L2-normalised. Stable across platforms and runs.

#include <cstddef>
#include <string_view>
#include <vector>

namespace ragtune::text {

/// @brief Writes texts.size() rows of @p dim floats to @p out.
void hash_embed(const std::vector<std::string_view>& texts, std::size_t dim, bool bigrams, float* out, int threads);

}  // namespace ragtune::text
