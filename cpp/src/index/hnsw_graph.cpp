#include "hnsw_graph.hpp"

// NO_MANUAL_VECTORIZATION is defined for every translation unit (CMakeLists.txt).
#include <hnswlib/hnswlib.h>

#include <malloc.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <unordered_map>

#include "ragtune/io/files.hpp"
#include "ragtune/io/mapped_file.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::index {
namespace {

// A query ready for the stored rows: for int8 rows multiplied by the scale (so a dot
// product with the codes is one with the values); with its squared norm for L2.
struct prepared_query {
  const float* values;
  float norm;
};

// hnswlib's metric hook. Elements carry no data, so every pointer hnswlib passes (a
// stored element's, or the one given to addPoint) points at a slot number; the
// distance is ragtune's kernel for the active ISA over the slots' rows, decoded where
// they are compact (L2 then through the stored norms).
class slot_space : public hnswlib::SpaceInterface<float> {
 public:
  slot_space(const vector_rows& rows, bool inner_product)
      : rows_(&rows),
        dim_(rows.dim),
        inner_product_(inner_product),
        compact_(rows.type != simd::row_type::f32),
        kernel_(simd::hnsw_distance(inner_product)),
        gather_(simd::gather_dot(rows.type)),
        between_slots_(simd::hnsw_slot_distance(inner_product, rows.type)) {}
  std::size_t get_data_size() override { return 0; }
  hnswlib::DISTFUNC<float> get_dist_func() override { return between_slots_; }
  void* get_dist_func_param() override { return const_cast<vector_rows*>(rows_); }

  const void* row(std::size_t slot) const noexcept { return rows_->row(slot); }
  std::size_t row_bytes() const noexcept { return rows_->row_bytes(); }
  // The query as the distances read it: int8 rows want it times the scale (kept in
  // `scaled`), L2 its squared norm.
  prepared_query prepare(const float* query, std::vector<float>& scaled) const {
    prepared_query prepared{query, 0.0f};
    if (!inner_product_) simd::dot_block(query, 1, query, 1, dim_, &prepared.norm, 1);
    if (rows_->type == simd::row_type::i8) {
      scaled.resize(dim_);
      for (std::size_t j = 0; j < dim_; ++j) scaled[j] = query[j] * rows_->scale[j];
      prepared.values = scaled.data();
    }
    return prepared;
  }
  // One slot's distance (the upper levels' descent): float rows through hnswlib's form,
  // compact ones as a gathered call of one row.
  float to_query(const prepared_query& query, std::size_t slot) const noexcept {
    const void* row = rows_->row(slot);
    if (!compact_) return kernel_(query.values, row, &dim_);
    const auto one = static_cast<std::uint32_t>(slot);
    float distance;
    distances(query, &row, &one, 1, &distance);
    return distance;
  }
  // The distances from the query to n rows at once (a node's unvisited neighbours): one
  // kernel call, float rows four at a time. Through dot products: 1 - dot, or for L2
  // |q|^2 + |r|^2 - 2 q.r with the stored norms.
  void distances(const prepared_query& query, const void* const* rows, const std::uint32_t* slots, std::size_t n,
                 float* out) const noexcept {
    gather_(query.values, rows, n, dim_, out);
    if (inner_product_) {
      for (std::size_t j = 0; j < n; ++j) out[j] = 1.0f - out[j];
    } else {
      for (std::size_t j = 0; j < n; ++j) out[j] = query.norm + rows_->norms[slots[j]] - 2.0f * out[j];
    }
  }

 private:
  const vector_rows* rows_;
  std::size_t dim_;
  bool inner_product_;
  bool compact_;
  simd::distance_function kernel_;         // float32 (query, row)
  simd::gather_dot_function gather_;       // (query, n rows)
  simd::distance_function between_slots_;  // (slot, slot): what hnswlib calls
};

// For building a whole graph at once: elements hold their rows, as hnswlib lays them
// out, so construction reads each candidate's row next to its links (a slot-only
// element costs a second, dependent miss per distance: 25% slower builds). The rows
// are dropped from the elements when the build is done.
class row_space : public hnswlib::SpaceInterface<float> {
 public:
  row_space(std::size_t dim, bool inner_product) : dim_(dim), kernel_(simd::hnsw_distance(inner_product)) {}
  std::size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return kernel_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  std::size_t dim_;
  simd::distance_function kernel_;
};

using graph_type = hnswlib::HierarchicalNSW<float>;
using tableint = hnswlib::tableint;

// A graph file's bytes (read or mapped).
struct file_view {
  const char* data;
  std::size_t size;
};

template <class T>
T read_pod(file_view file, std::size_t& at) {
  if (at + sizeof(T) > file.size) throw io::format_error("HNSW graph file is truncated");
  T value;
  std::memcpy(&value, file.data + at, sizeof(T));
  at += sizeof(T);
  return value;
}

// Checks a graph file as hnswlib 0.8.0 writes it, so that hnswlib (which trusts
// its input) never reads out of bounds: header consistent with the dimension,
// the file length exact, every level count within M, every link to an element
// that exists, every label a slot.
// The header is 96 bytes; these are the offsets of the fields the conversion rewrites.
constexpr std::size_t header_bytes = 96;
constexpr std::size_t size_per_element_at = 24, label_offset_at = 32;

// Returns true when the elements still hold vectors (dim floats before the label),
// as graphs saved before the one-copy layout do; false for the slot-only layout.
bool validate_graph_file(file_view file, std::size_t dim, std::size_t slot_count) {
  std::size_t at = 0;
  const auto offset_level0 = read_pod<std::size_t>(file, at);
  read_pod<std::size_t>(file, at);  // max_elements: replaced by the caller's capacity
  const auto count = read_pod<std::size_t>(file, at);
  const auto size_per_element = read_pod<std::size_t>(file, at);
  const auto label_offset = read_pod<std::size_t>(file, at);
  const auto offset_data = read_pod<std::size_t>(file, at);
  const auto max_level = read_pod<int>(file, at);
  const auto entry_point = read_pod<tableint>(file, at);
  const auto max_m = read_pod<std::size_t>(file, at);
  const auto max_m0 = read_pod<std::size_t>(file, at);
  const auto m = read_pod<std::size_t>(file, at);
  const auto mult = read_pod<double>(file, at);
  read_pod<std::size_t>(file, at);  // ef_construction
  auto bad = [](const std::string& what) { throw io::format_error("HNSW graph file is corrupted: " + what); };
  if (offset_level0 != 0) bad("level-0 offset is not 0");
  if (m == 0 || m > 4096 || max_m != m || max_m0 != 2 * m) bad("M out of range");
  const std::size_t links0 = max_m0 * sizeof(tableint) + sizeof(unsigned int);
  const std::size_t links = max_m * sizeof(tableint) + sizeof(unsigned int);
  const bool holds_vectors = label_offset == links0 + dim * sizeof(float);
  if (offset_data != links0 || (label_offset != links0 && !holds_vectors) ||
      size_per_element != label_offset + sizeof(hnswlib::labeltype))
    bad("element layout does not match the dimension");
  if (count > slot_count) bad("more elements than slots");
  if (max_level < 0 || max_level > 64 || !(mult > 0) || !std::isfinite(mult)) bad("level parameters out of range");
  if (count > 0 && entry_point >= count) bad("entry point out of range");
  if (count > (file.size - at) / size_per_element) bad("truncated level-0 data");
  const std::size_t level0_start = at;
  std::vector<std::size_t> levels_of;  // filled before any upper-level list is checked
  // A list of `level` (0: the base layer) may only link to elements that reach that
  // level: the search's descent reads the neighbour's list of the same level.
  auto check_list = [&](const char* list, std::size_t limit, std::size_t level) {
    unsigned int header;
    std::memcpy(&header, list, sizeof(header));
    const std::size_t n = header & 0xFFFF;  // the low 16 bits count links; byte 2 is the delete mark
    if (n > limit) bad("a node has more links than M allows");
    for (std::size_t i = 0; i < n; ++i) {
      tableint neighbour;
      std::memcpy(&neighbour, list + sizeof(unsigned int) + i * sizeof(tableint), sizeof(neighbour));
      if (neighbour >= count) bad("a link points past the last element");
      if (level > 0 && levels_of[neighbour] < level) bad("a link points to an element below its level");
    }
  };
  for (std::size_t i = 0; i < count; ++i) {
    const char* element = file.data + level0_start + i * size_per_element;
    check_list(element, max_m0, 0);
    hnswlib::labeltype label;
    std::memcpy(&label, element + label_offset, sizeof(label));
    if (label >= slot_count) bad("a label is not a slot");
  }
  at = level0_start + count * size_per_element;
  int highest = 0;
  levels_of.resize(count);
  std::vector<std::size_t> lists_at(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto size = read_pod<unsigned int>(file, at);
    if (size % links != 0) bad("an upper-level list has a partial entry");
    const std::size_t levels = size / links;
    if (levels > static_cast<std::size_t>(max_level)) bad("an element is above the top level");
    if (size > file.size - at) bad("truncated upper-level links");
    levels_of[i] = levels;
    lists_at[i] = at;
    if (i == entry_point) highest = static_cast<int>(levels);
    at += size;
  }
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t level = 1; level <= levels_of[i]; ++level)
      check_list(file.data + lists_at[i] + (level - 1) * links, max_m, level);
  if (at != file.size) bad("trailing bytes after the last element");
  if (count > 0 && highest != max_level) bad("the entry point is not on the top level");
  if (level0_start != header_bytes) bad("unexpected header size");
  return holds_vectors;
}

// A validated file that holds vectors, rewritten in the slot-only layout: each level-0
// element keeps its links and label and drops its dim floats (the rows are ragtune's).
std::vector<char> without_vectors(file_view file, std::size_t dim) {
  std::size_t count, size_per_element, label_offset;
  std::memcpy(&count, file.data + 16, sizeof(count));
  std::memcpy(&size_per_element, file.data + size_per_element_at, sizeof(size_per_element));
  std::memcpy(&label_offset, file.data + label_offset_at, sizeof(label_offset));
  const std::size_t links0 = label_offset - dim * sizeof(float);
  const std::size_t slim = links0 + sizeof(hnswlib::labeltype);
  std::vector<char> out;
  out.reserve(file.size - count * dim * sizeof(float));
  out.insert(out.end(), file.data, file.data + header_bytes);
  std::memcpy(out.data() + size_per_element_at, &slim, sizeof(slim));
  std::memcpy(out.data() + label_offset_at, &links0, sizeof(links0));
  for (std::size_t i = 0; i < count; ++i) {
    const char* element = file.data + header_bytes + i * size_per_element;
    out.insert(out.end(), element, element + links0);
    out.insert(out.end(), element + label_offset, element + label_offset + sizeof(hnswlib::labeltype));
  }
  out.insert(out.end(), file.data + header_bytes + count * size_per_element, file.data + file.size);
  return out;
}

// hnswlib reads graphs from a path: give it the validated bytes through an anonymous
// in-memory file, so what it reads is exactly what was checked.
class memory_file {
 public:
  memory_file(file_view bytes, const std::string& origin) : fd_(::memfd_create("ragtune-graph", MFD_CLOEXEC)) {
    if (fd_ < 0) io::throw_io_error("cannot create an in-memory copy of", origin);
    try {
      io::write_all_at(fd_, bytes.data, bytes.size, 0, origin);
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
  ~memory_file() { ::close(fd_); }
  memory_file(const memory_file&) = delete;
  memory_file& operator=(const memory_file&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace

struct hnsw_graph::impl {
  impl(const vector_rows& rows, bool inner_product) : space(rows, inner_product) {}
  ~impl() {
    if (mapping != nullptr && graph != nullptr) graph->data_level0_memory_ = nullptr;  // not hnswlib's to free
  }
  slot_space space;
  std::unique_ptr<graph_type> graph;
  // Set while the base layer is read in place from a mapped graph file (copy-on-write).
  std::shared_ptr<io::mapped_file> mapping;
  // Each element's slot, densely by internal id (4 bytes each: it stays in cache, where
  // the labels inside the elements would each cost a miss during search).
  std::vector<std::uint32_t> slot_of;

  // Records the slots of elements added since the last call.
  void index_new_elements() {
    const graph_type& g = *graph;
    for (std::size_t id = slot_of.size(); id < g.cur_element_count; ++id) {
      const auto label = g.getExternalLabel(static_cast<tableint>(id));
      if (label > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("the HNSW graph holds slots below 2^32 only");
      slot_of.push_back(static_cast<std::uint32_t>(label));
    }
  }

  // hnswlib's state for a validated slot-only graph file, its base layer left in the
  // mapping: what loadIndex does, without reading the block or building the label map
  // (prepare_for_changes does both before the first change).
  void adopt_mapped(std::shared_ptr<io::mapped_file> file) {
    const file_view bytes{file->data(), file->size()};
    graph = std::make_unique<graph_type>(&space);
    graph_type& g = *graph;
    std::size_t at = 0;
    g.offsetLevel0_ = read_pod<std::size_t>(bytes, at);
    read_pod<std::size_t>(bytes, at);  // the saved capacity: a mapped block holds exactly its elements
    g.cur_element_count = read_pod<std::size_t>(bytes, at);
    g.max_elements_ = g.cur_element_count;
    g.size_data_per_element_ = read_pod<std::size_t>(bytes, at);
    g.label_offset_ = read_pod<std::size_t>(bytes, at);
    g.offsetData_ = read_pod<std::size_t>(bytes, at);
    g.maxlevel_ = read_pod<int>(bytes, at);
    g.enterpoint_node_ = read_pod<tableint>(bytes, at);
    g.maxM_ = read_pod<std::size_t>(bytes, at);
    g.maxM0_ = read_pod<std::size_t>(bytes, at);
    g.M_ = read_pod<std::size_t>(bytes, at);
    g.mult_ = read_pod<double>(bytes, at);
    g.ef_construction_ = read_pod<std::size_t>(bytes, at);
    g.data_size_ = 0;
    g.fstdistfunc_ = space.get_dist_func();
    g.dist_func_param_ = space.get_dist_func_param();
    g.size_links_per_element_ = g.maxM_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
    g.size_links_level0_ = g.maxM0_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
    const std::size_t slots = std::max<std::size_t>(g.max_elements_, 1);
    change_structures = false;  // no locks, no label map: prepare_for_changes() makes them
    g.visited_list_pool_ = std::make_unique<hnswlib::VisitedListPool>(1, slots);
    g.linkLists_ = static_cast<char**>(std::calloc(slots, sizeof(char*)));
    if (g.linkLists_ == nullptr) throw std::bad_alloc();
    g.element_levels_ = std::vector<int>(slots);
    g.revSize_ = 1.0 / g.mult_;
    g.ef_ = 10;
    g.data_level0_memory_ = file->data() + header_bytes;
    mapping = std::move(file);
    at = header_bytes + g.cur_element_count * g.size_data_per_element_;
    for (std::size_t i = 0; i < g.cur_element_count; ++i) {
      const auto size = read_pod<unsigned int>(bytes, at);
      if (size == 0) continue;
      g.element_levels_[i] = static_cast<int>(size / g.size_links_per_element_);
      g.linkLists_[i] = static_cast<char*>(std::malloc(size));
      if (g.linkLists_[i] == nullptr) throw std::bad_alloc();
      std::memcpy(g.linkLists_[i], bytes.data + at, size);
      at += size;
    }
    for (std::size_t i = 0; i < g.cur_element_count; ++i)
      if (g.isMarkedDeleted(static_cast<tableint>(i))) ++g.num_deleted_;
  }

  // What only hnswlib's inserts and deletions use: the label -> id map (~50 bytes an
  // element), a mutex per element (40 bytes) and 65,536 label locks. Searches need neither, so a built or
  // loaded graph drops them and prepare_for_changes() brings them back at the first change:
  // an index that is built once and searched costs ~90 bytes a vector less.
  bool change_structures = true;

  void release_change_structures() {
    graph_type& g = *graph;
    std::unordered_map<hnswlib::labeltype, tableint>().swap(g.label_lookup_);
    std::vector<std::mutex>().swap(g.link_list_locks_);
    std::vector<std::mutex>().swap(g.label_op_locks_);  // 65,536 of them: 2.6 MB for any graph
    change_structures = false;
#ifdef __GLIBC__
    ::malloc_trim(0);  // the map's many small nodes: give their pages back
#endif
  }

  // Before the first change: a mapped base layer into memory of its own (so hnswlib may
  // grow and free it), then the label map and the element locks.
  void prepare_for_changes() {
    graph_type& g = *graph;
    if (mapping != nullptr) {
      const std::size_t bytes = g.cur_element_count * g.size_data_per_element_;
      char* block = static_cast<char*>(std::malloc(std::max<std::size_t>(bytes, 1)));
      if (block == nullptr) throw std::bad_alloc();
      std::memcpy(block, g.data_level0_memory_, bytes);
      g.data_level0_memory_ = block;
      mapping.reset();
    }
    if (change_structures) return;
    std::vector<std::mutex>(std::max<std::size_t>(g.max_elements_, 1)).swap(g.link_list_locks_);
    std::vector<std::mutex>(graph_type::MAX_LABEL_OPERATION_LOCKS).swap(g.label_op_locks_);
    g.label_lookup_.reserve(g.cur_element_count);
    for (std::size_t i = 0; i < g.cur_element_count; ++i)
      g.label_lookup_[g.getExternalLabel(static_cast<tableint>(i))] = static_cast<tableint>(i);
    change_structures = true;
  }

  // Rewrites a graph built over row_space into the slot-only layout, in place of its
  // level-0 block: each element keeps its links and label; hnswlib then calls the
  // slot distance.
  void drop_rows() {
    graph_type& g = *graph;
    const std::size_t links0 = g.offsetData_;
    const std::size_t slim = links0 + sizeof(hnswlib::labeltype);
    char* block = static_cast<char*>(std::malloc(g.max_elements_ * slim));
    if (block == nullptr) throw std::bad_alloc();
    for (std::size_t i = 0; i < g.cur_element_count; ++i) {
      const char* element = g.data_level0_memory_ + i * g.size_data_per_element_;
      std::memcpy(block + i * slim, element, links0);
      std::memcpy(block + i * slim + links0, element + g.label_offset_, sizeof(hnswlib::labeltype));
    }
    std::free(g.data_level0_memory_);
    g.data_level0_memory_ = block;
    g.size_data_per_element_ = slim;
    g.label_offset_ = links0;
    g.data_size_ = 0;
    g.fstdistfunc_ = space.get_dist_func();
    g.dist_func_param_ = space.get_dist_func_param();
  }
};

hnsw_graph::hnsw_graph(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

std::unique_ptr<hnsw_graph> hnsw_graph::build(const vector_rows& rows, bool inner_product, const std::int64_t* slots,
                                              std::size_t n, std::size_t m, std::size_t ef_construction,
                                              std::size_t seed, int threads) {
  auto state = std::make_unique<impl>(rows, inner_product);
  row_space build_space(rows.dim, inner_product);
  state->graph = std::make_unique<graph_type>(&build_space, std::max<std::size_t>(n, 1), m, ef_construction, seed,
                                              /*allow_replace_deleted=*/false);
  graph_type& g = *state->graph;
  ragtune::util::parallel_for_each(n, threads, [&](std::size_t i) {
    const auto slot = static_cast<std::size_t>(slots[i]);
    if (rows.type == simd::row_type::f32) {
      g.addPoint(rows.row(slot), static_cast<hnswlib::labeltype>(slot));
    } else {
      // Compact rows are decoded into the element: the graph is built on the very values
      // searches compare, at float speed, and the floats go with drop_rows.
      thread_local std::vector<float> decoded;
      decoded.resize(rows.dim);
      simd::decode_row(rows, slot, 0, rows.dim, decoded.data());
      g.addPoint(decoded.data(), static_cast<hnswlib::labeltype>(slot));
    }
  });
  state->drop_rows();
  state->index_new_elements();
  state->release_change_structures();
  return std::unique_ptr<hnsw_graph>(new hnsw_graph(std::move(state)));
}

hnsw_graph::~hnsw_graph() = default;

std::size_t hnsw_graph::capacity() const { return impl_->graph->max_elements_; }
std::size_t hnsw_graph::element_count() const { return impl_->graph->cur_element_count; }

void hnsw_graph::put(const std::int64_t* slots, std::size_t n, int threads) {
  impl_->prepare_for_changes();
  graph_type& g = *impl_->graph;
  // Grow before adding: resizeIndex must not run alongside insertions.
  const std::size_t needed = g.cur_element_count + n;
  if (needed > g.max_elements_) g.resizeIndex(std::max(needed, 2 * g.max_elements_));
  // An existing label (a reused or overwritten slot) is un-deleted and updated in place by hnswlib.
  // The data hnswlib is given for a new element is its slot number, which is also its label.
  try {
    ragtune::util::parallel_for_each(n, threads, [&](std::size_t i) {
      const auto slot = static_cast<hnswlib::labeltype>(slots[i]);
      g.addPoint(&slot, slot);
    });
  } catch (...) {
    impl_->index_new_elements();  // the inserts that did succeed are searchable: their slots must be known
    throw;
  }
  impl_->index_new_elements();
}

void hnsw_graph::remove(std::int64_t slot) {
  impl_->prepare_for_changes();
  graph_type& g = *impl_->graph;
  const auto found = g.label_lookup_.find(static_cast<hnswlib::labeltype>(slot));
  if (found != g.label_lookup_.end() && !g.isMarkedDeleted(found->second))
    g.markDelete(static_cast<hnswlib::labeltype>(slot));
}

std::vector<scored_slot> hnsw_graph::search(const float* query, std::size_t k, std::size_t ef,
                                            const bitset* allowed) const {
  const graph_type& g = *impl_->graph;
  const slot_space& space = impl_->space;
  const std::uint32_t* slot_of = impl_->slot_of.data();
  std::vector<float> scaled;
  const prepared_query prepared = space.prepare(query, scaled);
  auto distance_to = [&](tableint id) { return space.to_query(prepared, slot_of[id]); };
  std::vector<scored_slot> out;
  if (g.cur_element_count == 0 || k == 0) return out;
  // Greedy descent through the upper levels, then a best-first search of level 0
  // with this query's ef (hnswlib's searchKnn uses one shared ef for all threads).
  tableint current = g.enterpoint_node_;
  float distance = distance_to(current);
  for (int level = g.maxlevel_; level > 0; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      unsigned int* list = g.get_linklist(current, level);
      const int size = g.getListCount(list);
      const tableint* neighbours = reinterpret_cast<const tableint*>(list + 1);
      for (int i = 0; i < size; ++i) {
        const float d = distance_to(neighbours[i]);
        if (d < distance) {
          distance = d;
          current = neighbours[i];
          moved = true;
        }
      }
    }
  }
  // Best-first search of level 0 with this query's ef. ragtune's own loop over
  // hnswlib's graph: per-query ef (searchKnn shares one ef_ across threads), the
  // filter tested on the bitset directly, and prefetches that stay inside each
  // node's link list (hnswlib's read one entry past it).
  using scored = std::pair<float, tableint>;
  hnswlib::VisitedList* visited_list = g.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = visited_list->mass;
  const hnswlib::vl_type tag = visited_list->curV;
  const bool check_deleted = g.num_deleted_ > 0;
  auto accepted = [&](tableint id) {
    if (check_deleted && g.isMarkedDeleted(id)) return false;
    return allowed == nullptr || allowed->test(slot_of[id]);
  };
  const std::size_t breadth = std::max(ef, k);
  // Buffers kept per thread across queries (no allocation per search once warm). A level-0
  // list holds at most 2 M links; a row's first cache line is prefetched (the hardware
  // streams the rest: four lines each measured slower).
  struct scratch_space {
    std::vector<tableint> batch;
    std::vector<const void*> rows;
    std::vector<std::uint32_t> slots;
    std::vector<float> distances;
    std::vector<scored> best;      // a max-heap: the worst kept on top
    std::vector<scored> frontier;  // a min-heap: the closest first
  };
  thread_local scratch_space scratch;
  scratch.batch.resize(g.maxM0_);
  scratch.rows.resize(g.maxM0_);
  scratch.slots.resize(g.maxM0_);
  scratch.distances.resize(g.maxM0_);
  scratch.best.clear();
  scratch.frontier.clear();
  tableint* batch = scratch.batch.data();
  const void** rows = scratch.rows.data();
  std::uint32_t* slots = scratch.slots.data();
  float* distances = scratch.distances.data();
  std::vector<scored>& best = scratch.best;
  std::vector<scored>& frontier = scratch.frontier;
  const auto closer_last = std::greater<scored>();
  auto push_best = [&](float d, tableint id) {
    best.emplace_back(d, id);
    std::push_heap(best.begin(), best.end());
  };
  auto pop_best = [&] {
    std::pop_heap(best.begin(), best.end());
    best.pop_back();
  };
  const std::size_t prefetch_bytes = std::min<std::size_t>(space.row_bytes(), 64);
  visited[current] = tag;
  frontier.emplace_back(distance, current);
  if (accepted(current)) push_best(distance, current);
  float bound = best.empty() ? std::numeric_limits<float>::max() : best.front().first;
  while (!frontier.empty()) {
    const auto [d, node] = frontier.front();
    if (d > bound && best.size() >= breadth) break;
    std::pop_heap(frontier.begin(), frontier.end(), closer_last);
    frontier.pop_back();
    unsigned int* list = g.get_linklist0(node);
    const int size = g.getListCount(list);
    const tableint* neighbours = reinterpret_cast<const tableint*>(list + 1);
    // Unvisited neighbours first, then their rows' addresses (from the dense slot array)
    // and prefetches for all of them, then the distances: the loads of a whole node's
    // rows are in flight together instead of one after another.
    for (int j = 0; j < size; ++j) __builtin_prefetch(visited + neighbours[j]);
    int fresh = 0;
    for (int j = 0; j < size; ++j) {
      const tableint candidate = neighbours[j];
      if (visited[candidate] == tag) continue;
      visited[candidate] = tag;
      batch[fresh++] = candidate;
    }
    for (int j = 0; j < fresh; ++j) {
      slots[j] = slot_of[batch[j]];
      rows[j] = space.row(slots[j]);
      for (std::size_t line = 0; line < prefetch_bytes; line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(rows[j]) + line);
    }
    space.distances(prepared, rows, slots, static_cast<std::size_t>(fresh), distances);
    for (int j = 0; j < fresh; ++j) {
      const tableint candidate = batch[j];
      const float dc = distances[j];
      if (best.size() < breadth || dc < bound) {
        frontier.emplace_back(dc, candidate);
        std::push_heap(frontier.begin(), frontier.end(), closer_last);
        // Its links: the candidate may be expanded soon, and they lie apart from its row.
        __builtin_prefetch(g.get_linklist0(candidate));
        if (accepted(candidate)) {
          push_best(dc, candidate);
          if (best.size() > breadth) pop_best();
        }
        if (!best.empty()) bound = best.front().first;
      }
    }
  }
  g.visited_list_pool_->releaseVisitedList(visited_list);
  while (best.size() > k) pop_best();
  out.resize(best.size());
  for (std::size_t i = best.size(); i-- > 0;) {
    out[i] = {best.front().first, static_cast<std::int64_t>(slot_of[best.front().second])};
    pop_best();
  }
  return out;
}

std::size_t hnsw_graph::memory_bytes() const {
  const graph_type& g = *impl_->graph;
  std::size_t upper = 0;
  for (std::size_t i = 0; i < g.cur_element_count; ++i)
    upper += static_cast<std::size_t>(std::max(g.element_levels_[i], 0)) * g.size_links_per_element_;
  // A mapped base layer is page cache, counted by mapped_bytes().
  const std::size_t block = impl_->mapping != nullptr ? 0 : g.size_data_per_element_;
  const std::size_t per_slot = block + sizeof(char*) + sizeof(int);
  // The label map: one node (key, value, next pointer, cached hash) per element, plus its buckets.
  const std::size_t label_map =
      g.label_lookup_.size() * 4 * sizeof(std::size_t) + g.label_lookup_.bucket_count() * sizeof(void*);
  return g.max_elements_ * per_slot + upper + label_map +
         (g.link_list_locks_.size() + g.label_op_locks_.size()) * sizeof(std::mutex) +
         impl_->slot_of.capacity() * sizeof(std::uint32_t) +
         g.max_elements_ * sizeof(hnswlib::vl_type);  // one visited list held by the pool
}

std::size_t hnsw_graph::mapped_bytes() const {
  const graph_type& g = *impl_->graph;
  return impl_->mapping != nullptr ? g.cur_element_count * g.size_data_per_element_ : 0;
}

void hnsw_graph::save(const std::string& path) const {
  impl_->graph->saveIndex(path);
  // hnswlib does not check its writes: confirm the file is complete, and say why not.
  std::ifstream check(path, std::ios::binary | std::ios::ate);
  if (!check || static_cast<std::size_t>(check.tellg()) != impl_->graph->indexFileSize()) {
    struct statvfs disk {};
    const bool full = ::statvfs(path.c_str(), &disk) == 0 &&
                      static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize < impl_->graph->indexFileSize();
    throw io::io_error(full ? ENOSPC : EIO, "cannot write the HNSW graph to", path);
  }
}

std::unique_ptr<hnsw_graph> hnsw_graph::load(const std::string& path, const vector_rows& rows, bool inner_product,
                                             std::size_t slot_count, bool mapped) {
  auto file = std::make_shared<io::mapped_file>(io::mapped_file::open(path, /*writable=*/true));
  const file_view bytes{file->data(), file->size()};
  const bool holds_vectors = validate_graph_file(bytes, rows.dim, slot_count);
  auto state = std::make_unique<impl>(rows, inner_product);
  if (mapped && !holds_vectors) {
    state->adopt_mapped(std::move(file));
  } else {
    std::vector<char> converted;
    if (holds_vectors) converted = without_vectors(bytes, rows.dim);
    const memory_file validated(holds_vectors ? file_view{converted.data(), converted.size()} : bytes, path);
    state->graph = std::make_unique<graph_type>(&state->space);
    state->graph->loadIndex(validated.path(), &state->space, std::max<std::size_t>(slot_count, 1));
    state->release_change_structures();
  }
  state->index_new_elements();
  return std::unique_ptr<hnsw_graph>(new hnsw_graph(std::move(state)));
}

}  // namespace ragtune::index
