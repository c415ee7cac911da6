// Concurrency: threads searching while others write, on the vector index (exact and
// graph) and BM25. Run by every build, and under ThreadSanitizer by scripts/test.sh
// (gtest filter Concurrency.*). Every result must be consistent with some state of
// the index: a returned slot held a vector whose score is the one reported.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ragtune/index/bm25.hpp"
#include "ragtune/index/vector_index.hpp"

namespace ix = ragtune::index;

namespace {

constexpr std::size_t dim = 8;

// Slot s at generation g holds (1 + g) on axis s % dim, so a dot product with an axis
// query reveals which generation a search saw: any generation written so far is valid.
std::vector<float> vector_for(std::int64_t slot, int generation) {
  std::vector<float> v(dim, 0.0f);
  v[static_cast<std::size_t>(slot) % dim] = 1.0f + static_cast<float>(generation);
  return v;
}

void stress_vector_index(std::size_t min_graph_size, int search_threads_inside, int max_generation,
                         int writes_per_generation) {
  ix::hnsw_params params;
  params.min_graph_size = min_graph_size;
  params.ef_construction = 32;
  ix::vector_index index(dim, ix::metric::inner_product, params);
  constexpr std::int64_t slots = 400;
  for (std::int64_t s = 0; s < slots; ++s) index.put(vector_for(s, 0).data(), &s, 1, 1);
  std::atomic<bool> stop{false};
  std::atomic<long> searches{0}, writes{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> query(dim, 0.0f);
      for (long n = 0; !stop.load(); ++n) {
        std::fill(query.begin(), query.end(), 0.0f);
        query[static_cast<std::size_t>(n + t) % dim] = 1.0f;
        const auto mode = (n % 2) ? ix::search_mode::exact : ix::search_mode::automatic;
        const auto r = index.search(query.data(), 1, 5, nullptr, mode, 16, search_threads_inside);
        for (std::size_t i = 0; i < r.k; ++i) {
          const std::int64_t slot = r.slots[i];
          if (slot < -1 || slot >= slots) ++bad;
          if (slot < 0) continue;
          const float generation = r.scores[i] - 1.0f;  // 0 when the slot lies on another axis
          const bool on_axis = static_cast<std::size_t>(slot) % dim == static_cast<std::size_t>(n + t) % dim;
          if (on_axis && (generation < 0 || generation > max_generation || generation != std::floor(generation))) ++bad;
          if (i > 0 && r.scores[i] > r.scores[i - 1]) ++bad;
        }
        ++searches;
      }
    });
  }
  threads.emplace_back([&] {
    // At least max_generation rounds, and at least half a second of contention.
    std::mt19937 rng(7);
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0;; ++round) {
      const int generation = 1 + round % max_generation;
      for (int n = 0; n < writes_per_generation; ++n) {
        const std::int64_t slot = static_cast<std::int64_t>(rng() % slots);
        if (rng() % 4 == 0) {
          index.remove(&slot, 1);
        } else {
          index.put(vector_for(slot, generation).data(), &slot, 1, 1);
        }
        ++writes;
      }
      if (round + 1 >= max_generation && std::chrono::steady_clock::now() - started > std::chrono::milliseconds(500))
        break;
    }
    stop.store(true);
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_GE(writes.load(), max_generation * writes_per_generation);
  std::printf("[ stress   ] %ld searches, %ld writes, %ld inconsistent results\n", searches.load(), writes.load(),
              bad.load());
  EXPECT_LE(index.size(), static_cast<std::size_t>(slots));
}

}  // namespace

// Graph updates re-link a node's neighbourhood (hnswlib's updatePoint), which is slow
// under ThreadSanitizer: the graph runs do fewer writes.
TEST(Concurrency, ExactSearchesWhileWriting) { stress_vector_index(1u << 20, 1, 30, 40); }

TEST(Concurrency, GraphSearchesWhileWriting) { stress_vector_index(64, 1, 6, 10); }

TEST(Concurrency, ParallelBatchSearchesWhileWriting) { stress_vector_index(64, 2, 6, 10); }

TEST(Concurrency, Bm25SearchesWhileWriting) {
  ix::bm25_index bm25;
  const std::vector<std::string> words{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
  auto document = [&](std::int64_t slot, int generation) {
    return words[static_cast<std::size_t>(slot) % words.size()] + " " +
           words[static_cast<std::size_t>(slot + generation) % words.size()] + " common";
  };
  constexpr std::int64_t slots = 200;
  for (std::int64_t s = 0; s < slots; ++s) {
    const std::string text = document(s, 0);
    bm25.put({std::string_view(text)}, &s, 1);
  }
  std::atomic<bool> stop{false};
  std::atomic<long> searches{0}, writes{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (long n = 0; !stop.load(); ++n) {
        const auto r = bm25.search({std::string_view(words[static_cast<std::size_t>(n + t) % words.size()])}, 5,
                                   nullptr, (n % 3 == 0) ? 2 : 1);
        for (std::size_t i = 0; i < r.k; ++i) {
          if (r.slots[i] < -1 || r.slots[i] >= slots) ++bad;
          if (r.slots[i] >= 0 && !(r.scores[i] > 0)) ++bad;
          if (i > 0 && r.scores[i] > r.scores[i - 1]) ++bad;
        }
        ++searches;
      }
    });
  }
  threads.emplace_back([&] {
    std::mt19937 rng(11);
    const auto started = std::chrono::steady_clock::now();
    for (int n = 0; n < 1500 || std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500); ++n) {
      const std::int64_t slot = static_cast<std::int64_t>(rng() % slots);
      if (rng() % 5 == 0) {
        bm25.remove(&slot, 1);
      } else {
        const std::string text = document(slot, n);
        bm25.put({std::string_view(text)}, &slot, 1);
      }
      ++writes;
    }
    stop.store(true);
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(searches.load(), 0);
  std::printf("[ stress   ] %ld searches, %ld writes, %ld inconsistent results\n", searches.load(), writes.load(),
              bad.load());
}
