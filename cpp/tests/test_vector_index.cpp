// Exact and graph search against brute force; filters, deletions, persistence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "ragtune/index/vector_index.hpp"
#include "ragtune/io/files.hpp"

namespace ix = ragtune::index;

namespace {

std::vector<float> random_vectors(std::size_t n, std::size_t dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> out(n * dim);
  for (auto& x : out) x = normal(rng);
  return out;
}

std::vector<std::int64_t> iota_slots(std::size_t n) {
  std::vector<std::int64_t> s(n);
  std::iota(s.begin(), s.end(), 0);
  return s;
}

// Brute-force best slots by dot product (vectors normalised first for cosine).
std::vector<std::int64_t> brute_force(const std::vector<float>& base, std::size_t dim, const float* q, std::size_t k,
                                      const std::set<std::int64_t>& skip = {}) {
  const std::size_t n = base.size() / dim;
  std::vector<std::pair<float, std::int64_t>> all;
  for (std::size_t i = 0; i < n; ++i) {
    if (skip.count(static_cast<std::int64_t>(i))) continue;
    float d = 0;
    for (std::size_t j = 0; j < dim; ++j) d += base[i * dim + j] * q[j];
    all.push_back({-d, static_cast<std::int64_t>(i)});
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < k && i < all.size(); ++i) out.push_back(all[i].second);
  return out;
}

TEST(vector_index, exact_search_matches_brute_force_for_any_thread_count) {
  const std::size_t n = 3000, dim = 37, k = 7;
  auto base = random_vectors(n, dim, 1);
  auto queries = random_vectors(9, dim, 2);
  ix::vector_index index(dim, ix::metric::inner_product);
  auto slots = iota_slots(n);
  index.put(base.data(), slots.data(), n, 0);
  for (int threads : {1, 2, 0}) {
    auto r = index.search(queries.data(), 9, k, nullptr, ix::search_mode::exact, 0, threads);
    for (std::size_t q = 0; q < 9; ++q) {
      auto expected = brute_force(base, dim, queries.data() + q * dim, k);
      EXPECT_EQ(std::vector<std::int64_t>(r.slots.begin() + q * k, r.slots.begin() + (q + 1) * k), expected);
    }
  }
}

TEST(vector_index, graph_search_has_high_recall_and_respects_filters) {
  const std::size_t n = 6000, dim = 16, k = 10;
  auto base = random_vectors(n, dim, 3);
  ix::hnsw_params params;
  params.min_graph_size = 1000;
  ix::vector_index index(dim, ix::metric::inner_product, params);
  auto slots = iota_slots(n);
  index.put(base.data(), slots.data(), n, 2);
  ASSERT_TRUE(index.has_graph());
  auto queries = random_vectors(50, dim, 4);
  auto r = index.search(queries.data(), 50, k, nullptr, ix::search_mode::graph, 200, 2);
  std::size_t found = 0;
  for (std::size_t q = 0; q < 50; ++q) {
    auto expected = brute_force(base, dim, queries.data() + q * dim, k);
    for (std::size_t i = 0; i < k; ++i) found += std::count(expected.begin(), expected.end(), r.slots[q * k + i]);
  }
  EXPECT_GT(found, 0.95 * 50 * k);
  // 1% filter: every answer is allowed and there are k of them.
  ix::bitset allowed(n);
  for (std::size_t i = 0; i < n; i += 100) allowed.set(i);
  auto f = index.search(queries.data(), 50, k, &allowed, ix::search_mode::graph, 64, 2);
  for (std::size_t i = 0; i < 50 * k; ++i) {
    ASSERT_GE(f.slots[i], 0);
    EXPECT_TRUE(allowed.test(static_cast<std::size_t>(f.slots[i])));
  }
}

TEST(vector_index, deleted_slots_are_never_returned_and_are_reused) {
  const std::size_t n = 500, dim = 8;
  auto base = random_vectors(n, dim, 5);
  ix::hnsw_params params;
  params.min_graph_size = 100;
  ix::vector_index index(dim, ix::metric::cosine, params);
  auto slots = iota_slots(n);
  index.put(base.data(), slots.data(), n, 1);
  std::vector<std::int64_t> gone;
  for (std::int64_t s = 0; s < 500; s += 2) gone.push_back(s);
  index.remove(gone.data(), gone.size());
  index.remove(gone.data(), gone.size());  // removing again does nothing
  EXPECT_EQ(index.size(), 250u);
  auto r = index.search(base.data(), 20, 5, nullptr, ix::search_mode::automatic, 0, 1);
  for (auto s : r.slots) EXPECT_TRUE(s == -1 || s % 2 == 1);
  index.put(base.data(), gone.data(), 1, 1);  // slot 0 again
  EXPECT_EQ(index.size(), 251u);
  EXPECT_EQ(index.slot_count(), 500u);
}

TEST(vector_index, save_and_load_round_trip_and_reject_corruption) {
  const std::size_t n = 300, dim = 12;
  auto base = random_vectors(n, dim, 6);
  ix::hnsw_params params;
  params.min_graph_size = 50;
  ix::vector_index index(dim, ix::metric::l2, params);
  auto slots = iota_slots(n);
  index.put(base.data(), slots.data(), n, 1);
  const std::string vectors = ::testing::TempDir() + "/v.bin", graph = ::testing::TempDir() + "/g.bin";
  index.save(vectors, graph);
  auto loaded = ix::vector_index::load(vectors, graph, params);
  auto a = index.search(base.data(), 3, 4, nullptr, ix::search_mode::graph, 50, 1);
  auto b = loaded->search(base.data(), 3, 4, nullptr, ix::search_mode::graph, 50, 1);
  EXPECT_EQ(a.slots, b.slots);
  EXPECT_EQ(a.slots[0], 0);
  // Truncate the graph file: the loader must refuse it, not crash.
  {
    std::ifstream in(graph, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(graph, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size() / 2));
  }
  EXPECT_THROW(ix::vector_index::load(vectors, graph, params), ragtune::io::format_error);  // ValueError in Python
  std::remove(graph.c_str());
  {
    std::ofstream out(vectors, std::ios::binary | std::ios::app);
    out << "junk";
  }
  EXPECT_THROW(ix::vector_index::load(vectors, graph, params), ragtune::io::format_error);
  // A missing file is an I/O error with its errno and path (OSError in Python).
  try {
    ix::vector_index::load(vectors + ".missing", graph, params);
    FAIL() << "loading a missing file succeeded";
  } catch (const ragtune::io::io_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(e.path(), vectors + ".missing");
  }
}

// Half and int8 rows: every path (exact, graph build, incremental inserts, deletions,
// filters, persistence) on the sanitizer builds; the results against brute force over
// the decoded rows that get() returns.
TEST(vector_index, compact_rows_search_exactly_over_their_decoded_values) {
  const std::size_t n = 900, dim = 45, k = 5;
  auto base = random_vectors(n, dim, 11);
  auto queries = random_vectors(6, dim, 12);
  for (auto type : {ix::row_type::f16, ix::row_type::i8}) {
    for (auto kind : {ix::metric::inner_product, ix::metric::l2}) {
      ix::hnsw_params params;
      params.min_graph_size = 400;
      ix::vector_index index(dim, kind, params, type);
      auto slots = iota_slots(n);
      index.put(base.data(), slots.data(), 500, 2);  // builds the graph from decoded rows
      EXPECT_TRUE(index.has_graph());
      index.put(base.data() + 500 * dim, slots.data() + 500, n - 500, 2);  // inserts through compact distances
      std::vector<float> decoded(n * dim);
      index.get(slots.data(), n, decoded.data());
      for (std::size_t i = 0; i < n * dim; ++i)
        ASSERT_NEAR(decoded[i], base[i], 0.05f * std::max(1.0f, std::abs(base[i])));
      if (kind == ix::metric::inner_product) {
        auto exact = index.search(queries.data(), 6, k, nullptr, ix::search_mode::exact, 0, 2);
        for (std::size_t q = 0; q < 6; ++q) {
          auto expected = brute_force(decoded, dim, queries.data() + q * dim, k);
          EXPECT_EQ(std::vector<std::int64_t>(exact.slots.begin() + q * k, exact.slots.begin() + (q + 1) * k),
                    expected);
        }
      }
      const std::int64_t gone[] = {0, 1, 2};
      index.remove(gone, 3);
      auto graph = index.search(base.data(), 3, k, nullptr, ix::search_mode::graph, 64, 1);
      for (auto slot : graph.slots) EXPECT_GT(slot, 2);
      ix::bitset filter(n);
      for (std::size_t i = 0; i < n; i += 2) filter.set(i);
      auto filtered = index.search(queries.data(), 6, k, &filter, ix::search_mode::graph, 64, 1);
      for (auto slot : filtered.slots) EXPECT_EQ(slot % 2, 0);
      const std::string vectors = ::testing::TempDir() + "/cv.bin", graph_file = ::testing::TempDir() + "/cg.bin";
      index.save(vectors, graph_file);
      auto loaded = ix::vector_index::load(vectors, graph_file, params);
      EXPECT_EQ(loaded->type(), type);
      auto again = loaded->search(base.data(), 3, k, nullptr, ix::search_mode::graph, 64, 1);
      EXPECT_EQ(again.slots, graph.slots);
      EXPECT_EQ(again.scores, graph.scores);
      std::remove(vectors.c_str());
      std::remove(graph_file.c_str());
    }
  }
}

// A mapped load searches the files in place, and its first change copies them in; both
// give what a copying load gives.
TEST(vector_index, mapped_load_searches_in_place_and_copies_on_change) {
  const std::size_t n = 2000, dim = 24, k = 6;
  auto base = random_vectors(n, dim, 21);
  ix::hnsw_params params;
  params.min_graph_size = 100;
  for (auto type : {ix::row_type::f32, ix::row_type::f16, ix::row_type::i8}) {
    for (auto kind : {ix::metric::cosine, ix::metric::l2}) {
      ix::vector_index index(dim, kind, params, type);
      auto slots = iota_slots(n);
      index.put(base.data(), slots.data(), n, 2);
      const std::int64_t gone[] = {3, 4};
      index.remove(gone, 2);
      const std::string vectors = ::testing::TempDir() + "/mv.bin", graph = ::testing::TempDir() + "/mg.bin";
      index.save(vectors, graph);
      auto copied = ix::vector_index::load(vectors, graph, params, false);
      auto mapped = ix::vector_index::load(vectors, graph, params, true);
      for (auto mode : {ix::search_mode::exact, ix::search_mode::graph}) {
        auto a = copied->search(base.data(), 8, k, nullptr, mode, 64, 1);
        auto b = mapped->search(base.data(), 8, k, nullptr, mode, 64, 1);
        EXPECT_EQ(a.slots, b.slots);
        EXPECT_EQ(a.scores, b.scores);
      }
      // Changes: a removal, a replacement and new slots (the graph grows past the mapped block).
      const std::int64_t more[] = {7, static_cast<std::int64_t>(n), static_cast<std::int64_t>(n + 1)};
      const std::int64_t dropped[] = {9};
      for (auto* target : {copied.get(), mapped.get()}) {
        target->remove(dropped, 1);
        target->put(base.data() + 100 * dim, more, 3, 1);
      }
      auto a = copied->search(base.data(), 8, k, nullptr, ix::search_mode::graph, 64, 1);
      auto b = mapped->search(base.data(), 8, k, nullptr, ix::search_mode::graph, 64, 1);
      EXPECT_EQ(a.slots, b.slots);
      EXPECT_EQ(mapped->size(), n - 1);  // 3 removed, 2 added
      EXPECT_EQ(copied->size(), n - 1);
      std::remove(vectors.c_str());
      std::remove(graph.c_str());
    }
  }
}

// Rescoring: int8 rows find candidates, float32 rows kept in a file rank them; the file
// is saved, mapped back, and copied before a change.
TEST(vector_index, rescoring_ranks_by_float_rows_on_disk) {
  const std::size_t n = 1500, dim = 20, k = 5;
  auto base = random_vectors(n, dim, 31);
  ix::hnsw_params params;
  params.min_graph_size = 500;
  ix::vector_index index(dim, ix::metric::inner_product, params, ix::row_type::i8, /*rescore=*/true);
  auto slots = iota_slots(n);
  index.put(base.data(), slots.data(), n, 2);
  auto r = index.search(base.data(), 4, k, nullptr, ix::search_mode::exact, 0, 1);
  for (std::size_t q = 0; q < 4; ++q)
    EXPECT_EQ(std::vector<std::int64_t>(r.slots.begin() + q * k, r.slots.begin() + (q + 1) * k),
              brute_force(base, dim, base.data() + q * dim, k));
  const std::string vectors = ::testing::TempDir() + "/rv.bin", graph = ::testing::TempDir() + "/rg.bin",
                    exact = ::testing::TempDir() + "/re.bin";
  index.save(vectors, graph, exact);
  for (bool mapped : {false, true}) {
    auto loaded = ix::vector_index::load(vectors, graph, params, mapped, exact);
    EXPECT_TRUE(loaded->rescores());
    auto g = loaded->search(base.data(), 4, k, nullptr, ix::search_mode::graph, 64, 1);
    EXPECT_EQ(g.slots[0], 0);
    const std::int64_t more[] = {static_cast<std::int64_t>(n), 3};
    loaded->put(base.data() + 7 * dim, more, 2, 1);
    auto again = loaded->search(base.data() + 7 * dim, 1, 2, nullptr, ix::search_mode::exact, 0, 1);
    EXPECT_EQ(std::set<std::int64_t>(again.slots.begin(), again.slots.end()),
              (std::set<std::int64_t>{7, static_cast<std::int64_t>(n)}));
  }
  std::remove(vectors.c_str());
  std::remove(graph.c_str());
  std::remove(exact.c_str());
}

}  // namespace
