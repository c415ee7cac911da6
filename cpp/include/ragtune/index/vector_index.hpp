#pragma once
/// @file
/// @brief Vectors by slot with exact (SIMD, blocked, parallel) and HNSW (hnswlib with
///        ragtune's kernels) search, filters on a slot bitset, and binary persistence.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ragtune/index/bitset.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/util/fair_shared_mutex.hpp"

namespace ragtune::index {

/// @brief How vectors compare. Cosine stores normalised vectors and searches by inner product.
enum class metric { cosine, inner_product, l2 };

/// @brief HNSW graph parameters (hnswlib's meaning).
struct hnsw_params {
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::size_t ef_search = 64;
  std::size_t seed = 100;
  /// Below this many vectors no graph is built: exact search is cheaper.
  std::size_t min_graph_size = 4096;
};

/// @brief Which search to run; automatic picks exact for small collections and selective filters.
enum class search_mode { automatic, exact, graph };

/// @brief Results of a batch search: nq rows of k (score, slot); missing hits have slot -1.
///        Scores: higher is closer (dot product, or minus the squared L2 distance).
struct search_results {
  std::size_t queries = 0;
  std::size_t k = 0;
  std::vector<float> scores;
  std::vector<std::int64_t> slots;

  /// @brief nq rows of k empty hits (slot -1, score -inf).
  static search_results empty(std::size_t nq, std::size_t k);
};

/// @brief How vectors are stored: float32, IEEE half, or int8 with a per-dimension scale.
using row_type = simd::row_type;

class row_store;
class disk_rows;

/// @brief Bytes held by a vector_index, by part.
struct memory_usage {
  std::size_t vectors = 0;   ///< the rows and (int8) the scale (one copy: the graph reads them from here)
  std::size_t norms = 0;     ///< squared norms per slot (L2 through dot products)
  std::size_t slot_map = 0;  ///< the live-slot bitset
  std::size_t graph = 0;     ///< HNSW links and hnswlib's per-element bookkeeping (0 without a graph)
  std::size_t mapped = 0;    ///< rows and graph base layer read in place from mapped files (page cache, shared)
  std::size_t total() const noexcept { return vectors + norms + slot_map + graph + mapped; }
};

/// @brief Thread-safe: searches share a lock; put/remove/load take it exclusively.
class vector_index {
 public:
  /// @throws std::invalid_argument for dim == 0 or dim > 65536.
  /// @param rescore keep every vector in float32 as well, in a file (mapped, not in memory),
  ///        and rescore a search's rescore_factor x k best candidates with them (compact
  ///        types only: std::invalid_argument for f32).
  vector_index(std::size_t dim, metric kind, hnsw_params params = {}, row_type type = row_type::f32,
               bool rescore = false);
  ~vector_index();
  vector_index(const vector_index&) = delete;
  vector_index& operator=(const vector_index&) = delete;

  std::size_t dim() const noexcept { return dim_; }
  metric kind() const noexcept { return metric_; }
  const hnsw_params& params() const noexcept { return params_; }
  /// @brief How the vectors are stored.
  row_type type() const noexcept { return type_; }
  /// @brief Whether searches rescore their candidates with float32 rows kept on disk.
  bool rescores() const noexcept { return exact_ != nullptr; }
  /// @brief Candidates rescored per result (at least rescore_minimum).
  static constexpr std::size_t rescore_factor = 4;
  static constexpr std::size_t rescore_minimum = 40;
  /// @brief Number of live vectors.
  std::size_t size() const;
  /// @brief Slots allocated (live or free); slots are numbered below this.
  std::size_t slot_count() const;
  bool has_graph() const;

  /// @brief Stores @p n vectors (row-major, dim floats each) into the given slots, replacing
  ///        what a slot held. Vectors must be finite (checked by the caller).
  /// @throws std::invalid_argument for f16 storage of a value beyond 65504.
  void put(const float* vectors, const std::int64_t* slots, std::size_t n, int threads);
  /// @brief Frees slots; freeing a free slot does nothing.
  void remove(const std::int64_t* slots, std::size_t n);
  /// @brief Copies the stored vectors of live slots, decoded to floats, into @p out (n x dim).
  /// @throws std::out_of_range for a slot that holds no vector.
  void get(const std::int64_t* slots, std::size_t n, float* out) const;

  /// @brief The k best live slots for each query (allowed by @p filter when given).
  search_results search(const float* queries, std::size_t nq, std::size_t k, const bitset* filter, search_mode mode,
                        std::size_t ef, int threads) const;

  /// @brief Bytes held, by part (allocated capacity, not only live slots).
  memory_usage memory() const;

  /// @brief Builds the HNSW graph over all live vectors now (otherwise built once the
  ///        collection reaches min_graph_size).
  void build_graph(int threads);

  /// @brief Writes vectors (and the graph, and the float32 rows of a rescoring index, if
  ///        any) to these files, fsynced.
  void save(const std::string& vectors_path, const std::string& graph_path, const std::string& exact_path = "") const;
  /// @brief Reads what save() wrote, validating every size and graph link first.
  ///        @p mapped: the rows and the graph's base layer stay in the files, mapped
  ///        copy-on-write (opening costs no copy, pages are shared between processes);
  ///        the graph's structure is still checked in full, the values are not (the
  ///        snapshot's checksums cover them, on demand). The first change copies them in.
  /// @throws std::runtime_error naming the problem for a truncated, corrupted or foreign file.
  static std::unique_ptr<vector_index> load(const std::string& vectors_path, const std::string& graph_path,
                                            hnsw_params params, bool mapped = false,
                                            const std::string& exact_path = "");

 private:
  struct graph;
  void ensure_capacity(std::size_t slots);
  void add_to_graph(const std::int64_t* slots, std::size_t n, int threads);
  void build_graph_locked(int threads);
  search_results search_prepared(const float* prepared, std::size_t nq, std::size_t k, const bitset* filter,
                                 search_mode mode, std::size_t ef, int threads) const;
  search_results rescore(const float* queries, const search_results& candidates, std::size_t k, int threads) const;
  search_results exact(const float* queries, std::size_t nq, std::size_t k, const bitset* filter, int threads) const;
  search_results exact_gather(const float* queries, std::size_t nq, std::size_t k, const bitset& allowed,
                              int threads) const;
  search_results graph_search(const float* queries, std::size_t nq, std::size_t k, const bitset* filter, std::size_t ef,
                              int threads) const;
  std::vector<float> squared_norms(const float* queries, std::size_t nq) const;
  // Higher is closer: the dot product, or minus the squared distance for L2.
  float score(float dot, std::size_t slot, float query_norm) const noexcept;

  std::size_t dim_;
  metric metric_;
  hnsw_params params_;
  row_type type_;
  std::unique_ptr<row_store> rows_;   // the only copy of every vector (the graph reads rows through its view)
  std::unique_ptr<disk_rows> exact_;  // float32 rows on disk for rescoring compact ones (null: no rescoring)
  bitset alive_;
  std::size_t live_ = 0;
  std::unique_ptr<graph> graph_;
  mutable util::fair_shared_mutex mutex_;  // writers are not starved by a stream of searches
};

}  // namespace ragtune::index
