#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "ragtune/util/parallel.hpp"

TEST(parallel_for_each, visits_every_item_once_for_any_thread_count) {
  for (int threads : {0, 1, 2, 3}) {
    std::vector<std::atomic<int>> seen(1000);
    ragtune::util::parallel_for_each(seen.size(), threads, [&](std::size_t i) { seen[i]++; });
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  }
}

TEST(parallel_for_each, rethrows_one_exception) {
  EXPECT_THROW(ragtune::util::parallel_for_each(100, 2,
                                                [](std::size_t i) {
                                                  if (i % 7 == 3) throw std::runtime_error("boom");
                                                }),
               std::runtime_error);
  EXPECT_THROW(ragtune::util::parallel_for_each(1, -1, [](std::size_t) {}), std::invalid_argument);
}
