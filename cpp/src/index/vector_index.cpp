#include "ragtune/index/vector_index.hpp"

#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

#include <unistd.h>

#include "disk_rows.hpp"
#include "hnsw_graph.hpp"
#include "ragtune/io/files.hpp"
#include "ragtune/io/mapped_file.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/util/parallel.hpp"
#include "row_store.hpp"
#include "top_k.hpp"

namespace ragtune::index {

search_results search_results::empty(std::size_t nq, std::size_t k) {
  search_results r;
  r.queries = nq;
  r.k = k;
  r.scores.assign(nq * k, -std::numeric_limits<float>::infinity());
  r.slots.assign(nq * k, -1);
  return r;
}

struct vector_index::graph {
  std::unique_ptr<hnsw_graph> hnsw;
};

namespace {

constexpr char vectors_magic[8] = {'R', 'A', 'G', 'T', 'V', 'E', 'C', '1'};
constexpr std::size_t max_dim = 65536;
constexpr std::size_t rows_per_block = 1024;  // exact search: rows scored per tile pass
constexpr std::size_t decoded_block = 256;    // compact rows decoded per pass (the floats stay in L2)
constexpr std::size_t gathered_block = 256;   // exact search over a filter: rows gathered per pass
constexpr std::size_t gather_limit = 32768;   // filters matching at most this many slots search exactly

float norm_of(const float* v, std::size_t dim) {
  float dot = 0;
  simd::dot_block(v, 1, v, 1, dim, &dot, 1);
  return std::sqrt(dot);
}

// Queries ready to compare: normalised for cosine (a zero query stays zero).
std::vector<float> prepare_queries(const float* queries, std::size_t nq, std::size_t dim, metric kind) {
  std::vector<float> out(queries, queries + nq * dim);
  if (kind == metric::cosine) {
    for (std::size_t q = 0; q < nq; ++q) {
      const float norm = norm_of(out.data() + q * dim, dim);
      if (norm > 0)
        for (std::size_t j = 0; j < dim; ++j) out[q * dim + j] /= norm;
    }
  }
  return out;
}

void store(search_results& r, std::size_t q, const std::vector<scored_slot>& best) {
  for (std::size_t i = 0; i < best.size() && i < r.k; ++i) {
    r.scores[q * r.k + i] = best[i].score;
    r.slots[q * r.k + i] = best[i].slot;
  }
}

// Merges per-thread best lists into final results (the order is deterministic: see top_k).
template <class Locals>
search_results merge_locals(Locals& locals, std::size_t nq, std::size_t k) {
  search_results r = search_results::empty(nq, k);
  std::vector<top_k> merged(nq, top_k(k));
  for (auto& local : locals)
    for (std::size_t q = 0; q < nq; ++q) merged[q].merge(local.best[q]);
  for (std::size_t q = 0; q < nq; ++q) store(r, q, merged[q].sorted());
  return r;
}

}  // namespace

vector_index::vector_index(std::size_t dim, metric kind, hnsw_params params, row_type type, bool rescore)
    : dim_(dim), metric_(kind), params_(params), type_(type) {
  if (dim == 0 || dim > max_dim)
    throw std::invalid_argument("dimension must be between 1 and " + std::to_string(max_dim) + ", got " +
                                std::to_string(dim));
  if (params_.m < 2 || params_.m > 2048) throw std::invalid_argument("M must be between 2 and 2048");
  if (params_.ef_construction == 0) throw std::invalid_argument("ef_construction must be > 0");
  if (static_cast<int>(type) > static_cast<int>(row_type::i8)) throw std::invalid_argument("unknown row type");
  rows_ = std::make_unique<row_store>(dim, type);
  if (rescore) {
    if (type == row_type::f32) throw std::invalid_argument("rescoring needs compact rows (f16 or int8) to rescore");
    exact_ = std::make_unique<disk_rows>(dim);
  }
}

float vector_index::score(float dot, std::size_t slot, float query_norm) const noexcept {
  return metric_ == metric::l2 ? -(rows_->norm(slot) - 2 * dot + query_norm) : dot;
}

vector_index::~vector_index() = default;

std::size_t vector_index::size() const {
  std::shared_lock lock(mutex_);
  return live_;
}

std::size_t vector_index::slot_count() const {
  std::shared_lock lock(mutex_);
  return alive_.size();
}

bool vector_index::has_graph() const {
  std::shared_lock lock(mutex_);
  return graph_ != nullptr;
}

void vector_index::ensure_capacity(std::size_t slots) {
  if (slots <= alive_.size()) return;
  rows_->resize(slots);  // under the exclusive lock: no graph search is reading the rows
  alive_.resize(slots);
}

void vector_index::put(const float* vectors, const std::int64_t* slots, std::size_t n, int threads) {
  std::unique_lock lock(mutex_);
  std::int64_t highest = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (slots[i] < 0) throw std::invalid_argument("slot numbers must be >= 0");
    highest = std::max(highest, slots[i]);
  }
  if (highest >= 0) ensure_capacity(static_cast<std::size_t>(highest) + 1);
  const std::vector<float> prepared = prepare_queries(vectors, n, dim_, metric_);  // normalised for cosine
  // What can fail goes first, before anything changes: the row type's range, then the disk
  // space of the float32 rows; the compact rows are then encoded.
  rows_->check(prepared.data(), n);
  if (exact_ != nullptr) exact_->put(prepared.data(), slots, n);
  rows_->put(prepared.data(), slots, n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto slot = static_cast<std::size_t>(slots[i]);
    if (!alive_.test(slot)) {
      alive_.set(slot);
      ++live_;
    }
  }
  if (graph_)
    add_to_graph(slots, n, threads);
  else if (live_ >= params_.min_graph_size)
    build_graph_locked(threads);
}

void vector_index::add_to_graph(const std::int64_t* slots, std::size_t n, int threads) {
  graph_->hnsw->put(slots, n, threads);
}

void vector_index::remove(const std::int64_t* slots, std::size_t n) {
  std::unique_lock lock(mutex_);
  for (std::size_t i = 0; i < n; ++i) {
    if (slots[i] < 0 || !alive_.test(static_cast<std::size_t>(slots[i]))) continue;
    alive_.reset(static_cast<std::size_t>(slots[i]));
    --live_;
    if (graph_) graph_->hnsw->remove(slots[i]);
  }
}

void vector_index::get(const std::int64_t* slots, std::size_t n, float* out) const {
  std::shared_lock lock(mutex_);
  for (std::size_t i = 0; i < n; ++i) {
    if (slots[i] < 0 || !alive_.test(static_cast<std::size_t>(slots[i])))
      throw std::out_of_range("slot " + std::to_string(slots[i]) + " holds no vector");
    rows_->decode(static_cast<std::size_t>(slots[i]), 1, out + i * dim_);
  }
}

void vector_index::build_graph(int threads) {
  std::unique_lock lock(mutex_);
  build_graph_locked(threads);
}

void vector_index::build_graph_locked(int threads) {
  auto fresh = std::make_unique<graph>();
  std::vector<std::int64_t> slots;
  slots.reserve(live_);
  alive_.for_each([&](std::size_t s) { slots.push_back(static_cast<std::int64_t>(s)); });
  fresh->hnsw = hnsw_graph::build(rows_->view(), metric_ != metric::l2, slots.data(), slots.size(), params_.m,
                                  params_.ef_construction, params_.seed, threads);
  graph_ = std::move(fresh);
}

memory_usage vector_index::memory() const {
  std::shared_lock lock(mutex_);
  memory_usage m;
  m.vectors = rows_->row_memory();
  m.norms = rows_->norm_memory();
  m.slot_map = alive_.words().size() * sizeof(std::uint64_t);
  m.graph = graph_ ? graph_->hnsw->memory_bytes() : 0;
  m.mapped = (rows_->mapped() ? rows_->slots() * rows_->row_bytes() : 0) + (graph_ ? graph_->hnsw->mapped_bytes() : 0) +
             (exact_ ? exact_->mapped_bytes() : 0);
  return m;
}

search_results vector_index::search(const float* queries, std::size_t nq, std::size_t k, const bitset* filter,
                                    search_mode mode, std::size_t ef, int threads) const {
  std::shared_lock lock(mutex_);
  if (k == 0 || nq == 0 || live_ == 0) return search_results::empty(nq, k);
  const std::vector<float> prepared = prepare_queries(queries, nq, dim_, metric_);
  if (exact_ == nullptr) return search_prepared(prepared.data(), nq, k, filter, mode, ef, threads);
  // Compact rows find rescore_factor x k candidates; their float32 rows (on disk) decide.
  const std::size_t depth = std::max(k * rescore_factor, rescore_minimum);
  return rescore(prepared.data(), search_prepared(prepared.data(), nq, depth, filter, mode, ef, threads), k, threads);
}

search_results vector_index::rescore(const float* queries, const search_results& candidates, std::size_t k,
                                     int threads) const {
  search_results r = search_results::empty(candidates.queries, k);
  ragtune::util::parallel_for_each(candidates.queries, threads, [&](std::size_t q) {
    const float* query = queries + q * dim_;
    float query_norm = 0;
    if (metric_ == metric::l2) simd::dot_block(query, 1, query, 1, dim_, &query_norm, 1);
    std::vector<scored_slot> best;
    for (std::size_t i = 0; i < candidates.k; ++i) {
      const std::int64_t slot = candidates.slots[q * candidates.k + i];
      if (slot < 0) continue;
      const float* row = exact_->row(static_cast<std::size_t>(slot));
      float dot = 0;
      simd::dot_block(query, 1, row, 1, dim_, &dot, 1);
      float score = dot;
      if (metric_ == metric::l2) {
        float norm = 0;
        simd::dot_block(row, 1, row, 1, dim_, &norm, 1);
        score = -(norm - 2 * dot + query_norm);
      }
      best.push_back({score, slot});
    }
    std::sort(best.begin(), best.end(), better);
    if (best.size() > k) best.resize(k);
    store(r, q, best);
  });
  return r;
}

search_results vector_index::search_prepared(const float* prepared_queries, std::size_t nq, std::size_t k,
                                             const bitset* filter, search_mode mode, std::size_t ef,
                                             int threads) const {
  const float* prepared = prepared_queries;
  if (filter != nullptr) {
    // Only slots both allowed and alive can be returned.
    bitset allowed = alive_;
    allowed.intersect(*filter);
    const std::size_t matches = allowed.count();
    if (matches == 0) return search_results::empty(nq, k);
    const bool exact_is_cheaper = matches <= gather_limit || graph_ == nullptr;
    if (mode == search_mode::exact || (mode == search_mode::automatic && exact_is_cheaper) || !graph_)
      return exact_gather(prepared, nq, k, allowed, threads);
    return graph_search(prepared, nq, k, &allowed, ef, threads);
  }
  if (mode == search_mode::exact || !graph_) return exact(prepared, nq, k, nullptr, threads);
  return graph_search(prepared, nq, k, nullptr, ef, threads);
}

std::vector<float> vector_index::squared_norms(const float* queries, std::size_t nq) const {
  std::vector<float> out(nq, 0.0f);
  if (metric_ == metric::l2)
    for (std::size_t q = 0; q < nq; ++q)
      simd::dot_block(queries + q * dim_, 1, queries + q * dim_, 1, dim_, &out[q], 1);
  return out;
}

search_results vector_index::exact(const float* queries, std::size_t nq, std::size_t k, const bitset* filter,
                                   int threads) const {
  const std::size_t slots = alive_.size();
  // Compact rows are decoded a block at a time and scored like float rows.
  const bool decode = type_ != row_type::f32;
  const std::size_t per_block = decode ? decoded_block : rows_per_block;
  const std::size_t blocks = (slots + per_block - 1) / per_block;
  const std::vector<float> query_norms = squared_norms(queries, nq);
  struct local_state {
    std::vector<top_k> best;
    std::vector<float> scores;
    std::vector<float> decoded;
  };
  tbb::enumerable_thread_specific<local_state> locals([&] {
    return local_state{std::vector<top_k>(nq, top_k(k)), std::vector<float>(nq * per_block),
                       std::vector<float>(decode ? per_block * dim_ : 0)};
  });
  ragtune::util::parallel_for_each(blocks, threads, [&](std::size_t b) {
    local_state& local = locals.local();
    const std::size_t first = b * per_block;
    const std::size_t count = std::min(per_block, slots - first);
    const float* block = static_cast<const float*>(rows_->raw()) + first * dim_;
    if (decode) {
      rows_->decode(first, count, local.decoded.data());
      block = local.decoded.data();
    }
    simd::dot_block(queries, nq, block, count, dim_, local.scores.data(), count);
    for (std::size_t q = 0; q < nq; ++q) {
      const float* s = local.scores.data() + q * count;
      top_k& best = local.best[q];
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t slot = first + i;
        if (!alive_.test(slot) || (filter && !filter->test(slot))) continue;
        const float value = score(s[i], slot, query_norms[q]);
        if (best.admits(value)) best.push(value, static_cast<std::int64_t>(slot));
      }
    }
  });
  return merge_locals(locals, nq, k);
}

search_results vector_index::exact_gather(const float* queries, std::size_t nq, std::size_t k, const bitset& allowed,
                                          int threads) const {
  std::vector<std::int64_t> candidates;
  allowed.for_each([&](std::size_t s) { candidates.push_back(static_cast<std::int64_t>(s)); });
  const std::vector<float> query_norms = squared_norms(queries, nq);
  // Gathering copies the matching rows next to each other so the tiled kernel can run on them.
  const std::size_t blocks = (candidates.size() + gathered_block - 1) / gathered_block;
  struct local_state {
    std::vector<top_k> best;
    std::vector<float> rows;
    std::vector<float> scores;
  };
  tbb::enumerable_thread_specific<local_state> locals([&] {
    return local_state{std::vector<top_k>(nq, top_k(k)), std::vector<float>(gathered_block * dim_),
                       std::vector<float>(nq * gathered_block)};
  });
  ragtune::util::parallel_for_each(blocks, threads, [&](std::size_t b) {
    local_state& local = locals.local();
    const std::size_t first = b * gathered_block;
    const std::size_t count = std::min(gathered_block, candidates.size() - first);
    for (std::size_t i = 0; i < count; ++i)
      rows_->decode(static_cast<std::size_t>(candidates[first + i]), 1, local.rows.data() + i * dim_);
    simd::dot_block(queries, nq, local.rows.data(), count, dim_, local.scores.data(), count);
    for (std::size_t q = 0; q < nq; ++q) {
      for (std::size_t i = 0; i < count; ++i) {
        const auto slot = static_cast<std::size_t>(candidates[first + i]);
        local.best[q].push(score(local.scores[q * count + i], slot, query_norms[q]), candidates[first + i]);
      }
    }
  });
  return merge_locals(locals, nq, k);
}

search_results vector_index::graph_search(const float* queries, std::size_t nq, std::size_t k, const bitset* filter,
                                          std::size_t ef, int threads) const {
  search_results r = search_results::empty(nq, k);
  const std::size_t available = filter ? filter->count() : live_;
  const std::size_t expected = std::min(k, available);
  const std::size_t effective_ef = std::max(ef == 0 ? params_.ef_search : ef, k);
  ragtune::util::parallel_for_each(nq, threads, [&](std::size_t q) {
    const float* query = queries + q * dim_;
    std::vector<scored_slot> found = graph_->hnsw->search(query, k, effective_ef, filter);
    // Keep only live slots (the graph marks deletions, but be strict), turn distances into scores.
    std::vector<scored_slot> best;
    best.reserve(found.size());
    for (const auto& hit : found) {
      if (!alive_.test(static_cast<std::size_t>(hit.slot))) continue;
      const float score = metric_ == metric::l2 ? -hit.score : 1.0f - hit.score;
      best.push_back({score, hit.slot});
    }
    if (best.size() < expected) {
      // The graph could not reach enough allowed nodes (a tight filter, or
      // deletions that cut it): answer this query exactly instead.
      search_results fallback = filter ? exact_gather(query, 1, k, *filter, 1) : exact(query, 1, k, nullptr, 1);
      for (std::size_t i = 0; i < k; ++i) {
        r.scores[q * k + i] = fallback.scores[i];
        r.slots[q * k + i] = fallback.slots[i];
      }
      return;
    }
    std::sort(best.begin(), best.end(), better);
    store(r, q, best);
  });
  return r;
}

void vector_index::save(const std::string& vectors_path, const std::string& graph_path,
                        const std::string& exact_path) const {
  std::shared_lock lock(mutex_);
  std::FILE* f = io::open_file(vectors_path, "wb");
  try {
    // Version 1 (float32) is what ragtune wrote before compact rows: such files stay readable
    // by older releases. Version 2 adds the row type and, for int8, the per-dimension ranges.
    const bool compact = type_ != row_type::f32;
    const std::uint64_t header[6] = {compact ? 2u : 1u, dim_,  static_cast<std::uint64_t>(metric_),
                                     alive_.size(),     live_, static_cast<std::uint64_t>(type_)};
    io::write_all(f, vectors_magic, sizeof(vectors_magic), vectors_path);
    io::write_all(f, header, (compact ? 6 : 5) * sizeof(std::uint64_t), vectors_path);
    io::write_all(f, alive_.words().data(), alive_.words().size() * sizeof(std::uint64_t), vectors_path);
    if (type_ == row_type::i8)
      io::write_all(f, rows_->ranges().data(), rows_->ranges().size() * sizeof(float), vectors_path);
    io::write_all(f, rows_->raw(), rows_->slots() * rows_->row_bytes(), vectors_path);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  io::sync_and_close(f, vectors_path);
  if (exact_) exact_->save(exact_path);
  if (graph_) {
    graph_->hnsw->save(graph_path);
    io::sync_and_close(io::open_file(graph_path, "rb"), graph_path);
  }
}

std::unique_ptr<vector_index> vector_index::load(const std::string& vectors_path, const std::string& graph_path,
                                                 hnsw_params params, bool mapped, const std::string& exact_path) {
  auto file = std::make_shared<const io::mapped_file>(io::mapped_file::open(vectors_path, /*writable=*/true));
  const char* bytes = file->data();
  const std::size_t file_size = file->size();
  auto bad = [&](const std::string& what) {
    return io::format_error(vectors_path + " is not a valid ragtune vector file: " + what);
  };
  std::size_t at = 0;
  auto take = [&](void* out, std::size_t size, const char* what) {
    if (size > file_size - at) throw bad(what);
    if (size > 0) std::memcpy(out, bytes + at, size);
    at += size;
  };
  char magic[8];
  std::uint64_t header[6] = {};
  if (file_size < sizeof(magic)) throw bad("wrong magic bytes");
  take(magic, sizeof(magic), "wrong magic bytes");
  if (std::memcmp(magic, vectors_magic, 8) != 0) throw bad("wrong magic bytes");
  take(header, 5 * sizeof(std::uint64_t), "truncated header");
  const auto [version, dim, kind, slots, live] = std::tuple{header[0], header[1], header[2], header[3], header[4]};
  if (version != 1 && version != 2)
    throw bad("unsupported version " + std::to_string(version) + " (written by a newer ragtune? upgrade ragtune)");
  if (version == 2) take(&header[5], sizeof(std::uint64_t), "truncated header");
  const std::uint64_t type = header[5];
  if (dim == 0 || dim > max_dim) throw bad("dimension out of range");
  if (kind > 2) throw bad("unknown metric");
  if (type > static_cast<std::uint64_t>(row_type::i8)) throw bad("unknown row type");
  const std::size_t element = simd::element_bytes(static_cast<row_type>(type));
  const std::uint64_t words = (slots + 63) / 64;
  const std::uint64_t ranges = type == static_cast<std::uint64_t>(row_type::i8) ? dim * sizeof(float) : 0;
  const std::uint64_t payload = file_size - at;
  if (slots > payload / (dim * element) || payload != words * sizeof(std::uint64_t) + ranges + slots * dim * element)
    throw bad("its length does not match its header (truncated or corrupted)");
  auto index = std::make_unique<vector_index>(dim, static_cast<metric>(kind), params, static_cast<row_type>(type));
  std::vector<std::uint64_t> bits(words);
  take(bits.data(), words * sizeof(std::uint64_t), "truncated slot map");
  index->alive_ = bitset::from_words(bits.data(), slots);
  if (index->alive_.count() != live) throw bad("live count does not match the slot map");
  index->live_ = live;
  std::vector<float> range(ranges / sizeof(float));
  take(range.data(), ranges, "truncated int8 scale");
  // The rows are read where they lie in the file; a mapped index keeps them there (shared
  // pages; every value is checked by the snapshot's checksum on demand, not here), the
  // other copies them in and checks every value now.
  index->rows_->adopt_mapping(file, bytes + at, slots);
  const bool l2 = kind == static_cast<std::uint64_t>(metric::l2);
  if (const std::string problem = index->rows_->adopt_loaded(range, !mapped, !mapped || l2); !problem.empty())
    throw bad(problem);
  if (!mapped) index->rows_->materialise();
  if (!exact_path.empty()) {
    if (std::FILE* e = std::fopen(exact_path.c_str(), "rb"); e != nullptr) {
      std::fclose(e);
      if (index->type_ == row_type::f32) throw bad("float32 rows come with exact vectors to rescore with");
      index->exact_ = disk_rows::open_saved(exact_path, dim, slots);  // stays on disk, mapped
    }
  }
  if (std::FILE* g = std::fopen(graph_path.c_str(), "rb"); g != nullptr) {
    std::fclose(g);
    index->graph_ = std::make_unique<graph>();
    index->graph_->hnsw = hnsw_graph::load(graph_path, index->rows_->view(), !l2, slots, mapped);
  }
  return index;
}

}  // namespace ragtune::index
