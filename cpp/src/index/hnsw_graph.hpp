#pragma once
// The HNSW graph: hnswlib 0.8.0's HierarchicalNSW over a SpaceInterface whose
// distance is ragtune's dispatched SIMD kernel. This is the only translation
// unit family that includes hnswlib (through hnsw_graph.cpp).
//
// The graph holds no vectors: each element's data is empty, so hnswlib's data
// pointer lands on the element's label, which is the slot, and the distance reads
// the slot's row from the vector_index's own array (one copy of every vector).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ragtune/index/bitset.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "top_k.hpp"

namespace ragtune::index {

// Where the vectors live: row s is base + s * dim. The owner keeps `base` current
// (it moves when the array grows) and never changes it while the graph is in use.
using vector_rows = simd::slot_rows;

class hnsw_graph {
 public:
  // A graph over these slots' rows, built at construction speed (rows inside the
  // elements while building, dropped when done).
  static std::unique_ptr<hnsw_graph> build(const vector_rows& rows, bool inner_product, const std::int64_t* slots,
                                           std::size_t n, std::size_t m, std::size_t ef_construction, std::size_t seed,
                                           int threads);
  ~hnsw_graph();

  // Adds or replaces each slot (hnswlib label = slot; its vector is its row), in parallel.
  void put(const std::int64_t* slots, std::size_t n, int threads);
  void remove(std::int64_t slot);
  std::size_t capacity() const;
  std::size_t element_count() const;

  // Up to k nearest allowed slots by graph search with the given ef; distances are
  // hnswlib's (lower is closer).
  std::vector<scored_slot> search(const float* query, std::size_t k, std::size_t ef, const bitset* allowed) const;

  // Bytes held: the level-0 block, upper-level links, and hnswlib's per-element
  // bookkeeping (locks, levels, the label map, the visited-list pool).
  std::size_t memory_bytes() const;
  // Bytes of the base layer read in place from a mapped file (0 once copied in).
  std::size_t mapped_bytes() const;

  void save(const std::string& path) const;
  // Validates the file completely (sizes, levels, every link) and hands hnswlib the
  // validated bytes. Files that still hold vectors (ragtune before the one-copy
  // layout) are converted on the way. `mapped`: the base layer stays in the file,
  // mapped copy-on-write, until the first change copies it in.
  static std::unique_ptr<hnsw_graph> load(const std::string& path, const vector_rows& rows, bool inner_product,
                                          std::size_t slot_count, bool mapped);

 private:
  struct impl;
  explicit hnsw_graph(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace ragtune::index
