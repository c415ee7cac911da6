// BM25 over shards: each shard scored with the corpus's statistics (summed from the
// shards' own) gives the very scores of one index over every document.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ragtune/index/bm25.hpp"

namespace ix = ragtune::index;

namespace {

std::vector<std::string> random_documents(std::size_t n, unsigned seed) {
  static const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta",  "epsilon", "zeta", "eta",
                                                 "theta", "iota", "kappa", "lambda", "mu",      "nu",   "xi",
                                                 "omron", "pi",   "rho",   "sigma",  "tau",     "phi",  "chi"};
  std::mt19937 rng(seed);
  std::vector<std::string> out(n);
  for (auto& text : out) {
    const std::size_t length = 1 + rng() % 40;
    // Skewed word choice: some terms are common, some rare, as in real text.
    for (std::size_t i = 0; i < length; ++i) text += words[rng() % 3 == 0 ? rng() % words.size() : rng() % 5] + " ";
  }
  return out;
}

}  // namespace

TEST(BM25Shards, CorpusStatisticsGiveTheScoresOfOneIndex) {
  const auto documents = random_documents(300, 5);
  const std::vector<std::vector<std::string>> queries = {
      {"alpha", "theta"}, {"rho", "rho", "xi"}, {"missing"}, {"beta", "chi", "omron", "missing"}};
  ix::bm25_index whole;
  std::vector<std::int64_t> slots(documents.size());
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = static_cast<std::int64_t>(i);
  std::vector<std::string_view> views(documents.begin(), documents.end());
  whole.put(views, slots.data(), 1);
  const std::size_t k = 25;
  const auto expected = whole.search_tokens(queries, k, nullptr, 1);

  // Three contiguous shards, each numbering its slots from 0.
  const std::size_t bounds[] = {0, 70, 181, documents.size()};
  std::vector<ix::bm25_index> shards(3);
  std::vector<std::string> terms = {"alpha", "theta", "rho", "xi", "missing", "beta", "chi", "omron"};
  ix::corpus_statistics corpus;
  for (std::size_t s = 0; s < 3; ++s) {
    std::vector<std::string_view> part(views.begin() + bounds[s], views.begin() + bounds[s + 1]);
    shards[s].put(part, slots.data(), 2);
    const auto own = shards[s].statistics(terms);
    corpus.documents += own.documents;
    corpus.total_length += own.total_length;
    for (const auto& [term, df] : own.document_frequency) corpus.document_frequency[term] += df;
  }
  EXPECT_EQ(corpus.documents, documents.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    // Merge by (score desc, global position asc): the order one index keeps.
    std::multimap<std::pair<float, std::int64_t>, int> merged;
    for (std::size_t s = 0; s < 3; ++s) {
      const auto r = shards[s].search_tokens({queries[q]}, k, nullptr, 1, &corpus);
      for (std::size_t i = 0; i < k && r.slots[i] >= 0; ++i)
        merged.emplace(std::make_pair(-r.scores[i], r.slots[i] + static_cast<std::int64_t>(bounds[s])), 0);
    }
    std::size_t i = 0;
    for (auto it = merged.begin(); it != merged.end() && i < k; ++it, ++i) {
      EXPECT_EQ(it->first.second, expected.slots[q * k + i]) << "query " << q << " rank " << i;
      EXPECT_EQ(-it->first.first, expected.scores[q * k + i]) << "query " << q << " rank " << i;  // bit for bit
    }
    for (; i < k; ++i) EXPECT_EQ(expected.slots[q * k + i], -1);
  }
  ix::corpus_statistics partial = corpus;
  partial.document_frequency.erase("xi");
  EXPECT_THROW(shards[0].search_tokens({queries[1]}, k, nullptr, 1, &partial), std::invalid_argument);
  ix::corpus_statistics small = corpus;
  small.documents = 10;  // fewer than the shard's own
  EXPECT_THROW(shards[0].search_tokens({queries[0]}, k, nullptr, 1, &small), std::invalid_argument);
  ix::corpus_statistics rare = corpus;
  rare.document_frequency["alpha"] = 0;  // rarer in the corpus than in the shard
  EXPECT_THROW(shards[0].search_tokens({queries[0]}, k, nullptr, 1, &rare), std::invalid_argument);
  const ix::corpus_statistics empty;
  EXPECT_THROW(shards[0].search_tokens({queries[0]}, k, nullptr, 1, &empty), std::invalid_argument);
}
