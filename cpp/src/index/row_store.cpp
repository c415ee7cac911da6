#include "row_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace ragtune::index {
namespace {

constexpr float code_limit = 127.0f;  // symmetric: -127 .. 127 (-128 is never written)
constexpr float growth_headroom = 1.25f;
constexpr float half_max = 65504.0f;  // the largest finite IEEE half

}  // namespace

row_store::row_store(std::size_t dim, row_type type) : dim_(dim), view_(std::make_unique<simd::slot_rows>()) {
  view_->dim = dim;
  view_->type = type;
  if (type == row_type::i8) {
    range_.assign(dim, 0.0f);
    scale_.assign(dim, 0.0f);
  }
  refresh_view();
}

void row_store::refresh_view() noexcept {
  view_->scale = scale_.data();
  view_->norms = norms_.data();
  if (mapping_ != nullptr) return;  // base points into the mapping
  switch (view_->type) {
    case row_type::f32:
      view_->base = f32_.data();
      break;
    case row_type::f16:
      view_->base = f16_.data();
      break;
    case row_type::i8:
      view_->base = i8_.data();
      break;
  }
}

void row_store::adopt_mapping(std::shared_ptr<const io::mapped_file> file, const char* rows, std::size_t slots) {
  mapping_ = std::move(file);
  slots_ = slots;
  view_->base = rows;
  refresh_view();
}

void row_store::materialise() {
  if (mapping_ == nullptr) return;
  const auto* rows = static_cast<const char*>(view_->base);
  const std::size_t bytes = slots_ * row_bytes();
  switch (view_->type) {
    case row_type::f32:
      f32_.resize(slots_ * dim_);
      std::memcpy(f32_.data(), rows, bytes);
      break;
    case row_type::f16:
      f16_.resize(slots_ * dim_);
      std::memcpy(f16_.data(), rows, bytes);
      break;
    case row_type::i8:
      i8_.resize(slots_ * dim_);
      std::memcpy(i8_.data(), rows, bytes);
      break;
  }
  mapping_.reset();
  refresh_view();
  if (norms_.size() != slots_) {  // a mapped load computes norms only where the metric reads them
    norms_.resize(slots_);
    refresh_view();
    for (std::size_t s = 0; s < slots_; ++s) compute_norm(s);
  }
}

void row_store::resize(std::size_t slots) {
  if (slots <= slots_) return;
  materialise();
  if (slots > std::numeric_limits<std::size_t>::max() / dim_ / sizeof(float))
    throw std::length_error("too many slots for this dimension");
  switch (view_->type) {
    case row_type::f32:
      f32_.resize(slots * dim_, 0.0f);
      break;
    case row_type::f16:
      f16_.resize(slots * dim_, 0);
      break;
    case row_type::i8:
      i8_.resize(slots * dim_, 0);
      break;
  }
  norms_.resize(slots, 0.0f);
  slots_ = slots;
  refresh_view();
}

void row_store::check(const float* rows, std::size_t n) const {
  if (view_->type != row_type::f16) return;
  for (std::size_t i = 0; i < n * dim_; ++i)
    if (std::fabs(rows[i]) > half_max)
      throw std::invalid_argument("a vector value (" + std::to_string(rows[i]) +
                                  ") is beyond the range of 16-bit floats (65504); store these vectors "
                                  "with vector_dtype='f32' or 'int8', or scale them down");
}

void row_store::put(const float* rows, const std::int64_t* slots, std::size_t n) {
  check(rows, n);
  materialise();
  if (view_->type == row_type::i8) {
    std::vector<float> old_scale = scale_;
    if (widen_ranges(rows, n) && had_rows_) recode_all(old_scale);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto slot = static_cast<std::size_t>(slots[i]);
    encode(rows + i * dim_, slot);
    compute_norm(slot);
  }
  if (n > 0) had_rows_ = true;
}

bool row_store::widen_ranges(const float* rows, std::size_t n) {
  bool grown = false;
  for (std::size_t j = 0; j < dim_; ++j) {
    float largest = 0.0f;
    for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(rows[i * dim_ + j]));
    if (largest <= range_[j]) continue;
    // The first rows set the range exactly; later growth leaves headroom so that a
    // stream of additions does not re-code everything each time.
    range_[j] = had_rows_ ? std::max(largest, range_[j] * growth_headroom) : largest;
    scale_[j] = range_[j] / code_limit;
    grown = true;
  }
  return grown;
}

void row_store::recode_all(const std::vector<float>& old_scale) {
  std::vector<std::size_t> changed;
  std::vector<float> factor;
  for (std::size_t j = 0; j < dim_; ++j) {
    if (scale_[j] == old_scale[j]) continue;
    changed.push_back(j);
    factor.push_back(old_scale[j] / scale_[j]);  // old codes were 0 where the old scale was 0
  }
  for (std::size_t s = 0; s < slots_; ++s) {
    std::int8_t* codes = i8_.data() + s * dim_;
    for (std::size_t c = 0; c < changed.size(); ++c) {
      const std::size_t j = changed[c];
      const float recoded = std::nearbyint(static_cast<float>(codes[j]) * factor[c]);
      codes[j] = static_cast<std::int8_t>(std::clamp(recoded, -code_limit, code_limit));
    }
    compute_norm(s);
  }
}

void row_store::encode(const float* row, std::size_t slot) noexcept {
  switch (view_->type) {
    case row_type::f32:
      std::memcpy(f32_.data() + slot * dim_, row, dim_ * sizeof(float));
      break;
    case row_type::f16:
      simd::narrow_16(row, f16_.data() + slot * dim_, dim_, /*brain=*/false);
      break;
    case row_type::i8: {
      std::int8_t* codes = i8_.data() + slot * dim_;
      for (std::size_t j = 0; j < dim_; ++j) {
        const float code = range_[j] > 0 ? std::nearbyint(row[j] * (code_limit / range_[j])) : 0.0f;
        codes[j] = static_cast<std::int8_t>(std::clamp(code, -code_limit, code_limit));
      }
      break;
    }
  }
}

void row_store::compute_norm(std::size_t slot) noexcept {
  float dot = 0;
  if (view_->type == row_type::f32) {
    const auto* row = static_cast<const float*>(view_->row(slot));
    simd::dot_block(row, 1, row, 1, dim_, &dot, 1);
  } else {
    // Decoded a block at a time on the stack: no allocation on this path.
    constexpr std::size_t block = 256;
    float decoded[block];
    for (std::size_t j = 0; j < dim_; j += block) {
      const std::size_t m = std::min(block, dim_ - j);
      simd::decode_row(*view_, slot, j, m, decoded);
      float part = 0;
      simd::dot_block(decoded, 1, decoded, 1, m, &part, 1);
      dot += part;
    }
  }
  norms_[slot] = dot;
}

void row_store::decode(std::size_t first, std::size_t n, float* out) const noexcept {
  if (view_->type == row_type::f32) {
    std::memcpy(out, view_->row(first), n * dim_ * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) simd::decode_row(*view_, first + i, 0, dim_, out + i * dim_);
}

std::size_t row_store::row_memory() const noexcept {
  return f32_.capacity() * sizeof(float) + f16_.capacity() * sizeof(std::uint16_t) + i8_.capacity() +
         (range_.capacity() + scale_.capacity()) * sizeof(float);
}

std::string row_store::adopt_loaded(const std::vector<float>& ranges, bool check_values, bool norms) {
  const std::size_t count = slots_ * dim_;
  if (check_values) {
    switch (view_->type) {
      case row_type::f32: {
        const auto* values = static_cast<const float*>(view_->base);
        for (std::size_t i = 0; i < count; ++i)
          if (!std::isfinite(values[i])) return "holds a non-finite value";
        break;
      }
      case row_type::f16: {
        const auto* halves = static_cast<const std::uint16_t*>(view_->base);
        for (std::size_t i = 0; i < count; ++i)
          if ((halves[i] & 0x7C00u) == 0x7C00u) return "holds a non-finite 16-bit value";
        break;
      }
      case row_type::i8: {
        const auto* codes = static_cast<const std::int8_t*>(view_->base);
        for (std::size_t i = 0; i < count; ++i)
          if (codes[i] == std::numeric_limits<std::int8_t>::min()) return "holds an int8 code outside -127..127";
        break;
      }
    }
  }
  if (view_->type == row_type::i8) {
    // The scale is checked whatever the caller asks: it is small, and every distance reads it.
    if (ranges.size() != dim_) return "the int8 scale has the wrong length";
    for (float r : ranges)
      if (!std::isfinite(r) || r < 0) return "the int8 scale holds a negative or non-finite range";
    range_ = ranges;
    for (std::size_t j = 0; j < dim_; ++j) scale_[j] = range_[j] / code_limit;
  }
  had_rows_ = slots_ > 0;
  if (norms) {
    norms_.resize(slots_);
    refresh_view();
    for (std::size_t s = 0; s < slots_; ++s) compute_norm(s);
  }
  return {};
}

}  // namespace ragtune::index
