#pragma once
/// @file
/// @brief BM25 over slots, Lucene variant (bm25s's default): idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
///        term score = idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)). Documents can be replaced
///        and removed; N, df and avgdl always describe the live documents.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ragtune/index/bitset.hpp"
#include "ragtune/index/vector_index.hpp"
#include "ragtune/util/fair_shared_mutex.hpp"

namespace ragtune::index {

struct bm25_params {
  float k1 = 1.5f;
  float b = 0.75f;
};

/// @brief What BM25 needs to know about a whole corpus to score one part of it (a shard)
///        exactly as an index over everything would: the live documents, their total
///        length, and the document frequency of each query term.
struct corpus_statistics {
  std::uint64_t documents = 0;
  std::uint64_t total_length = 0;
  std::unordered_map<std::string, std::uint64_t> document_frequency;
};

/// @brief An inverted index with BM25 scoring. Thread-safe like vector_index.
class bm25_index {
 public:
  /// @throws std::invalid_argument for k1 < 0 or b outside [0, 1].
  explicit bm25_index(bm25_params params = {}, std::vector<std::string> stopwords = {});

  const bm25_params& params() const noexcept { return params_; }
  std::size_t size() const;
  std::size_t vocabulary_size() const;

  /// @brief Tokenises (text::tokenize_words) and indexes each text at its slot, replacing the slot's content.
  void put(const std::vector<std::string_view>& texts, const std::int64_t* slots, int threads);
  /// @brief Indexes pre-tokenised documents (tokens used as given).
  void put_tokens(const std::vector<std::vector<std::string>>& documents, const std::int64_t* slots);
  void remove(const std::int64_t* slots, std::size_t n);

  /// @brief The tokens put() would index for @p text (stopwords removed).
  std::vector<std::string> tokenize(std::string_view text) const;

  /// @brief This index's part of a corpus's statistics: its live documents, their total
  ///        length, and the document frequency of each of @p terms (0 when absent). Summed
  ///        over the shards of a corpus, they are the corpus's own.
  corpus_statistics statistics(const std::vector<std::string>& terms) const;

  /// @brief The k best live slots per query (text queries are tokenised like documents).
  search_results search(const std::vector<std::string_view>& queries, std::size_t k, const bitset* filter,
                        int threads) const;
  /// @brief As search(), for tokenised queries. With @p corpus, idf and the average length
  ///        come from the whole corpus instead of this index, so a shard's scores equal an
  ///        index over everything (the corpus must give every query term's frequency).
  /// @throws std::invalid_argument when @p corpus lacks a query term or has no documents.
  search_results search_tokens(const std::vector<std::vector<std::string>>& queries, std::size_t k,
                               const bitset* filter, int threads, const corpus_statistics* corpus = nullptr) const;

  /// @brief Bytes held (vocabulary, postings, per-document terms and lengths), estimated from
  ///        container capacities (hash-map nodes counted at their usual libstdc++ size).
  std::size_t memory_bytes() const;

  void save(const std::string& path) const;
  /// @brief Reads what save() wrote. Slots must lie below @p slot_limit (the caller knows how many
  ///        slots the index has, e.g. from the vector file, whose size backs that number): a
  ///        hostile file cannot make the loader allocate for slots that do not exist.
  /// @throws std::runtime_error naming the problem for a truncated, corrupted or foreign file.
  static std::unique_ptr<bm25_index> load(const std::string& path, std::size_t slot_limit);

 private:
  struct posting {
    std::uint32_t slot;
    std::uint32_t tf;
    std::uint32_t generation;  // the slot's generation when indexed; older ones are stale
  };
  void put_locked(const std::vector<std::pair<std::string, std::uint32_t>>& counts, std::uint32_t length,
                  std::size_t slot);
  void remove_locked(std::size_t slot);
  void compact_locked();
  // With corpus, frequencies[q][i] is the corpus's document frequency of queries[q][i].
  search_results search_ids(const std::vector<std::vector<std::uint32_t>>& queries, std::size_t k, const bitset* filter,
                            int threads, const corpus_statistics* corpus,
                            const std::vector<std::vector<double>>& frequencies) const;

  bm25_params params_;
  std::unordered_set<std::string> stopwords_;
  std::unordered_map<std::string, std::uint32_t> vocabulary_;
  std::vector<std::string> terms_;                 // term id -> term
  std::vector<std::vector<posting>> postings_;     // term id -> postings (may hold stale slots)
  std::vector<std::uint32_t> document_frequency_;  // term id -> live documents containing it
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> document_terms_;  // slot -> (term, tf) live
  std::vector<std::uint32_t> length_;                                                 // slot -> token count
  std::vector<std::uint32_t> generation_;  // slot -> bumped on each replace, to spot stale postings
  bitset alive_;
  std::size_t live_ = 0;
  std::uint64_t total_length_ = 0;
  std::size_t stale_postings_ = 0;
  mutable util::fair_shared_mutex mutex_;  // writers are not starved by a stream of searches
};

}  // namespace ragtune::index
