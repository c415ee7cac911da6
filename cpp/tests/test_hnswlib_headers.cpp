// The hnswlib 0.8.0 headers fetched at set-up compile and work here (the index
// area builds on them): a small graph finds each stored point as its own nearest.
#include <gtest/gtest.h>

#include <hnswlib/hnswlib.h>

#include <random>
#include <vector>

TEST(hnswlib_headers, version_0_8_0_builds_and_searches) {
  constexpr int dim = 8;
  constexpr int count = 200;
  hnswlib::L2Space space(dim);
  hnswlib::HierarchicalNSW<float> graph(&space, count, 16, 100, 42, /*allow_replace_deleted=*/true);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> data(static_cast<std::size_t>(dim) * count);
  for (auto& x : data) x = normal(rng);
  for (int i = 0; i < count; ++i) graph.addPoint(data.data() + i * dim, static_cast<hnswlib::labeltype>(i));
  for (int i = 0; i < count; i += 17) {
    auto result = graph.searchKnn(data.data() + i * dim, 1);
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result.top().second, static_cast<hnswlib::labeltype>(i));
  }
}
