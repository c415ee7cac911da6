#pragma once
/// @file
/// @brief RAFT chain-of-thought answers: their quoted spans (between ##begin_quote## and
///        ##end_quote##), and whether each occurs verbatim in the answer's oracle
///        document(s). Semantics are Python's (python/ragtune/raft/quotes.py documents
///        them): spans are the shortest non-overlapping matches, stripped of Python
///        whitespace; with whitespace normalisation, runs of Python whitespace become
///        one space on both sides before the search.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ragtune::raft {

/// @brief Per answer: its quotes (byte spans into the answer, stripped) and the verdicts.
struct quote_report {
  std::vector<std::int64_t>
      quote_offsets;  ///< answers + 1: answer i owns quotes [quote_offsets[i], quote_offsets[i+1])
  std::vector<std::int64_t> quote_starts, quote_ends;  ///< byte offsets into the answer
  std::vector<std::uint8_t> quote_found;               ///< the quote is non-empty and in an oracle
  std::vector<std::uint8_t> has_answer;                ///< non-empty text after the last "<ANSWER>:"
  std::vector<std::uint8_t> unbalanced;                ///< a marker is left once the matched spans are removed
};

/// @brief Checks every answer's quotes against its oracles: answer i's oracles are
///        pool[oracle_ids[oracle_offsets[i] .. oracle_offsets[i+1])]. All text is valid UTF-8.
/// @throws std::invalid_argument for offsets that do not ascend or ids outside the pool.
quote_report check_quotes(const std::vector<std::string_view>& answers, const std::vector<std::string_view>& pool,
                          const std::int64_t* oracle_offsets, const std::int64_t* oracle_ids, bool normalise_whitespace,
                          int threads);

}  // namespace ragtune::raft
