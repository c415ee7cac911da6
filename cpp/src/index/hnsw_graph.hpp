#pragma once
// The HNSW graph: hnswlib 0.8.0's HierarchicalNSW over a SpaceInterface whose
// distance is ragtune's dispatched SIMD kernel. This is the only translation
// unit family that includes hnswlib (through hnsw_graph.cpp).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ragtune/index/bitset.hpp"
#include "top_k.hpp"

namespace ragtune::index {

class hnsw_graph {
 public:
  hnsw_graph(std::size_t dim, bool inner_product, std::size_t capacity, std::size_t m, std::size_t ef_construction,
             std::size_t seed);
  ~hnsw_graph();

  // Adds or replaces the vector of each slot (hnswlib label = slot), in parallel.
  void put(const float* const* vectors, const std::int64_t* slots, std::size_t n, int threads);
  void remove(std::int64_t slot);
  std::size_t capacity() const;
  std::size_t element_count() const;

  // Up to k nearest allowed slots by graph search with the given ef; distances are
  // hnswlib's (lower is closer).
  std::vector<scored_slot> search(const float* query, std::size_t k, std::size_t ef, const bitset* allowed) const;

  void save(const std::string& path) const;
  // Validates the file completely (sizes, levels, every link) before hnswlib reads it.
  static std::unique_ptr<hnsw_graph> load(const std::string& path, std::size_t dim, bool inner_product,
                                          std::size_t slot_count);

 private:
  struct impl;
  explicit hnsw_graph(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace ragtune::index
