#pragma once
/// @file
/// @brief RAFT example assembly: for each question, its oracle chunk(s) (kept in
///        exactly round(P * N) examples) plus k distractors — random, hard (ranked
///        candidates from an index) or mixed — never an oracle, never a near-duplicate
///        of one, never repeated (by id or by text hash); a dropped oracle is replaced by another distractor;
///        the documents of an example are shuffled and the oracle positions recorded.
///        Every example draws from its own random stream (seed, example number), so
///        the output does not depend on the thread count.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ragtune::raft {

/// @brief How distractors are chosen.
enum class strategy { random, hard, mixed };

struct sampler_options {
  std::size_t distractors = 4;
  double oracle_probability = 0.8;  ///< P: the fraction of examples that keep their oracle(s)
  strategy kind = strategy::random;
  double hard_fraction = 0.5;  ///< mixed: the share of distractors taken from the hard candidates
  std::uint64_t seed = 0;
  double near_duplicate_jaccard = 0.8;  ///< MinHash-estimated Jaccard at or above which chunks are near-duplicates
};

/// @brief The corpus and the questions, as arrays (compressed rows: item i owns
///        ids[offsets[i] .. offsets[i+1])). Optional arrays may be null.
struct sampler_input {
  std::size_t chunk_count = 0;
  std::size_t item_count = 0;
  const std::int64_t* oracle_offsets = nullptr;  ///< item_count + 1
  const std::int64_t* oracle_ids = nullptr;
  const std::int64_t* candidate_offsets = nullptr;  ///< hard / mixed: item_count + 1, ranked best first
  const std::int64_t* candidate_ids = nullptr;
  // Near-duplicate tests (each optional): chunks of the same group whose spans
  // overlap; chunks with the same text hash; chunks whose MinHash signatures agree
  // on at least near_duplicate_jaccard of their entries.
  const std::int64_t* groups = nullptr;
  const std::int64_t* starts = nullptr;
  const std::int64_t* ends = nullptr;
  const std::uint64_t* text_hashes = nullptr;
  const std::uint32_t* minhash = nullptr;
  std::size_t minhash_size = 0;
  // Assembling part of a larger set (a partition on another worker): item i is item
  // item_positions[i] (ascending) of total_items, and takes that item's random stream and
  // oracle decision, so the parts of a set equal the set assembled whole. Null: the
  // items are the whole set.
  const std::int64_t* item_positions = nullptr;
  std::size_t total_items = 0;
};

/// @brief One row per example: documents (chunk ids) in shown order, and which positions hold oracles.
struct sampler_output {
  std::vector<std::int64_t> document_offsets;  ///< item_count + 1
  std::vector<std::int64_t> documents;
  std::vector<std::int64_t> oracle_position_offsets;  ///< item_count + 1
  std::vector<std::int64_t> oracle_positions;
  std::vector<std::uint8_t> kept_oracle;  ///< 1 when the example shows its oracle(s)
  std::size_t hard_used = 0;              ///< distractors taken from hard candidates
  std::size_t random_used = 0;            ///< distractors drawn at random (including hard shortfalls)
  std::size_t near_duplicates_skipped = 0;
  std::size_t repeated_texts_skipped = 0;  ///< candidates whose text an earlier document of the example already shows
};

/// @brief Assembles every example. @throws std::invalid_argument naming the problem (an oracle id
///        out of range, too few chunks for k distractors, missing candidates for hard sampling).
sampler_output assemble(const sampler_input& input, const sampler_options& options, int threads);

/// @brief MinHash signatures (@p size values per text) over word shingles of @p shingle words
///        (text::tokenize_words), for the near-duplicate test.
std::vector<std::uint32_t> minhash_signatures(const std::vector<std::string_view>& texts, std::size_t size,
                                              std::size_t shingle, int threads);

/// @brief A 64-bit hash per text of its words (runs between ASCII whitespace, as Python's
///        str.split() finds them in ASCII text) lower-cased (A-Z) and joined by one space:
///        texts that differ only in spacing and ASCII case hash the same. Callers
///        normalise non-ASCII text first (Python's " ".join(t.split()).lower()), which
///        this leaves unchanged.
std::vector<std::uint64_t> text_hashes(const std::vector<std::string_view>& texts, int threads);

}  // namespace ragtune::raft
