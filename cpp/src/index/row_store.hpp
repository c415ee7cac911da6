#pragma once
// The vectors of a vector_index, by slot, in one of three element types: float32,
// IEEE half (half the bytes) or int8 codes with a per-dimension symmetric scale (a
// quarter). The only copy of every vector: exact search decodes blocks of rows, the
// HNSW graph reads them through view().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ragtune/io/mapped_file.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace ragtune::index {

using row_type = simd::row_type;

class row_store {
 public:
  row_store(std::size_t dim, row_type type);

  std::size_t dim() const noexcept { return dim_; }
  row_type type() const noexcept { return view_->type; }
  std::size_t slots() const noexcept { return slots_; }
  std::size_t row_bytes() const noexcept { return view_->row_bytes(); }

  // Makes room for this many slots (new slots hold zeros). Moves the rows: callers
  // hold the index's exclusive lock.
  void resize(std::size_t slots);

  // Stores n rows (dim floats each, finite, already normalised where the metric wants
  // it) into these slots. int8: a dimension whose range grows past its scale gets a
  // wider scale and every stored row is re-coded in it (growth has 25% headroom, so a
  // stream of additions re-codes rarely).
  void put(const float* rows, const std::int64_t* slots, std::size_t n);
  // Throws std::invalid_argument for rows this type cannot hold (f16: beyond 65504), before
  // anything is stored; put() checks it too.
  void check(const float* rows, std::size_t n) const;

  // Writes rows first .. first + n - 1, decoded to floats, to out (n x dim).
  void decode(std::size_t first, std::size_t n, float* out) const noexcept;

  // Squared norm of a slot's decoded row (L2 through dot products).
  float norm(std::size_t slot) const noexcept { return norms_[slot]; }

  // Where kernels and the graph find the rows; the object's address never changes.
  const simd::slot_rows& view() const noexcept { return *view_; }

  // Bytes of rows and scale; of the squared norms.
  std::size_t row_memory() const noexcept;
  std::size_t norm_memory() const noexcept { return norms_.capacity() * sizeof(float); }

  // The raw rows and, for int8, the per-dimension largest magnitude the scale covers
  // (what save writes and load reads back).
  const void* raw() const noexcept { return view_->base; }
  const std::vector<float>& ranges() const noexcept { return range_; }
  // After raw rows and ranges were read in (or mapped): derives the scale and, when asked,
  // the norms; checks every value when asked. Returns an empty string when all is well,
  // else what is wrong.
  std::string adopt_loaded(const std::vector<float>& ranges, bool check_values, bool norms);

  // Reads the rows of `slots` slots in place from a mapped file (shared pages, nothing
  // copied). The first change (put, resize) copies them into memory of the store's own.
  void adopt_mapping(std::shared_ptr<const io::mapped_file> file, const char* rows, std::size_t slots);
  bool mapped() const noexcept { return mapping_ != nullptr; }
  // Copies mapped rows into the store's own memory (and computes the norms a mapped load
  // skipped); nothing to do when not mapped.
  void materialise();

 private:
  void refresh_view() noexcept;
  void encode(const float* row, std::size_t slot) noexcept;
  bool widen_ranges(const float* rows, std::size_t n);
  void recode_all(const std::vector<float>& old_scale);
  void compute_norm(std::size_t slot) noexcept;

  std::size_t dim_;
  std::size_t slots_ = 0;
  std::vector<float> f32_;
  std::vector<std::uint16_t> f16_;
  std::vector<std::int8_t> i8_;
  std::vector<float> range_;  // int8: largest magnitude each dimension's codes cover (code 127)
  std::vector<float> scale_;  // int8: range / 127, what a code is multiplied by
  std::vector<float> norms_;
  bool had_rows_ = false;
  std::shared_ptr<const io::mapped_file>
      mapping_;  // set while the rows are read from a mapped snapshot  // int8: whether ranges were set by stored rows
                 // (later growth gets headroom)
  std::unique_ptr<simd::slot_rows> view_;
};

}  // namespace ragtune::index
