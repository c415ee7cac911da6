#include "ragtune/lora/merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::lora {
namespace {

// Output is produced and handed on in blocks of about this size: large enough for
// sequential writes, small enough that memory stays flat for any tensor.
// Rows a worker computes at once (the low-rank kernel shares each load of A across them).
constexpr std::size_t rows_per_task = 16;
// Row groups whose column sums are kept apart (64 x cols doubles) for DoRA's column norms.
constexpr std::size_t norm_groups = 64;

void widen(const std::uint8_t* source, io::dtype type, float* target, std::size_t n) {
  if (type == io::dtype::f32) {
    std::memcpy(target, source, n * sizeof(float));
  } else if (reinterpret_cast<std::uintptr_t>(source) % alignof(std::uint16_t) == 0) {
    simd::widen_16(reinterpret_cast<const std::uint16_t*>(source), target, n, type == io::dtype::bf16);
  } else {
    // A file whose data buffer is not 2-byte aligned is legal, if odd: read it through an aligned copy.
    std::vector<std::uint16_t> aligned(n);
    std::memcpy(aligned.data(), source, n * sizeof(std::uint16_t));
    simd::widen_16(aligned.data(), target, n, type == io::dtype::bf16);
  }
}

void narrow(const float* source, io::dtype type, std::uint8_t* target, std::size_t n) {
  if (type == io::dtype::f32) {
    std::memcpy(target, source, n * sizeof(float));
  } else {
    simd::narrow_16(source, reinterpret_cast<std::uint16_t*>(target), n, type == io::dtype::bf16);
  }
}

// Counts non-finite values in already-rounded output (rounding itself can overflow to infinity).
std::size_t count_non_finite(const std::uint8_t* bytes, io::dtype type, std::size_t n) {
  std::size_t bad = 0;
  if (type == io::dtype::f32) {
    for (std::size_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, bytes + 4 * i, 4);
      bad += std::isfinite(v) ? 0 : 1;
    }
    return bad;
  }
  const std::uint16_t exponent_mask = type == io::dtype::bf16 ? 0x7F80u : 0x7C00u;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    bad += (h & exponent_mask) == exponent_mask ? 1 : 0;
  }
  return bad;
}

struct merger {
  const std::string& name;
  const std::uint8_t* base;
  io::dtype base_type;
  std::uint64_t rows;
  std::uint64_t cols;
  const tensor_update& update;

  // Rows [first, first + count) of base + every delta, in fp32, rounded step by step as
  // PEFT's torch code does (see simd::low_rank_add). @p out holds count x cols floats.
  void compute_rows(std::uint64_t first, std::size_t count, float* out) const {
    const std::size_t in_row = static_cast<std::size_t>(cols * io::dtype_size(base_type));
    for (std::size_t i = 0; i < count; ++i) widen(base + (first + i) * in_row, base_type, out + i * cols, cols);
    for (const auto& term : update.terms)
      simd::low_rank_add(term.left + first * term.rank, term.rank, term.right, cols, term.scale, out, cols, count);
    if (update.dense != nullptr)
      for (std::size_t i = 0; i < count; ++i)
        simd::add_product(out + i * cols, update.dense + (first + i) * cols, 1.0f, cols);
  }

  // DoRA over columns needs every column's norm before any row can be finished.
  // The rows are summed in a fixed number of groups, added in group order: the norms (and
  // so the merged weights) are the same bits whatever the thread count and scheduling.
  std::vector<float> column_norms(int threads) const {
    const std::size_t tasks = static_cast<std::size_t>((rows + rows_per_task - 1) / rows_per_task);
    const std::size_t groups = std::min<std::size_t>(norm_groups, tasks);
    std::vector<double> partials(groups * cols, 0.0);
    util::parallel_for_each(groups, threads, [&](std::size_t group) {
      double* partial = partials.data() + group * cols;
      std::vector<float> block(rows_per_task * cols);
      for (std::size_t task = group * tasks / groups; task < (group + 1) * tasks / groups; ++task) {
        const std::uint64_t first = task * rows_per_task;
        const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(rows - first, rows_per_task));
        compute_rows(first, count, block.data());
        for (std::size_t i = 0; i < count; ++i)
          for (std::uint64_t c = 0; c < cols; ++c)
            partial[c] += static_cast<double>(block[i * cols + c]) * block[i * cols + c];
      }
    });
    std::vector<double> squares(cols, 0.0);
    for (std::size_t group = 0; group < groups; ++group)
      for (std::uint64_t c = 0; c < cols; ++c) squares[c] += partials[group * cols + c];
    std::vector<float> norms(cols);
    for (std::uint64_t c = 0; c < cols; ++c) norms[c] = static_cast<float>(std::sqrt(squares[c]));
    return norms;
  }
};

void check_float(const std::string& name, io::dtype type, const char* role) {
  if (!is_float_type(type))
    throw std::invalid_argument("tensor '" + name + "': " + role + " type " + io::dtype_name(type) +
                                " cannot be merged; only F32, F16 and BF16 can");
}

}  // namespace

std::uint64_t rows_per_block(std::uint64_t cols, io::dtype out_type, std::uint64_t block_bytes) noexcept {
  const std::uint64_t row = std::max<std::uint64_t>(1, cols * io::dtype_size(out_type));
  return std::max<std::uint64_t>(1, block_bytes / row);
}

bool is_float_type(io::dtype type) noexcept {
  return type == io::dtype::f32 || type == io::dtype::f16 || type == io::dtype::bf16;
}

void merge_tensor(const std::string& name, const std::uint8_t* base, io::dtype base_type, std::uint64_t rows,
                  std::uint64_t cols, const tensor_update& update, io::dtype out_type, int threads, block_sink sink,
                  std::uint64_t block_bytes) {
  check_float(name, base_type, "base");
  check_float(name, out_type, "output");
  for (const auto& term : update.terms)
    if (term.left == nullptr || term.right == nullptr || term.rank == 0)
      throw std::invalid_argument("tensor '" + name + "': a low-rank term is empty");
  if (rows == 0 || cols == 0) return;
  const merger m{name, base, base_type, rows, cols, update};
  std::vector<float> norms;
  if (update.magnitude != nullptr && update.magnitude_per_column) norms = m.column_norms(threads);

  const std::size_t out_size = io::dtype_size(out_type);
  const std::uint64_t block_rows = rows_per_block(cols, out_type, block_bytes);
  std::vector<std::uint8_t> block(std::min<std::uint64_t>(rows, block_rows) * cols * out_size);
  for (std::uint64_t first = 0; first < rows; first += block_rows) {
    const std::uint64_t count = std::min<std::uint64_t>(block_rows, rows - first);
    const std::size_t tasks = (count + rows_per_task - 1) / rows_per_task;
    util::parallel_for_each(tasks, threads, [&](std::size_t task) {
      const std::uint64_t begin = task * rows_per_task;
      const std::size_t span = static_cast<std::size_t>(std::min<std::uint64_t>(count - begin, rows_per_task));
      std::vector<float> rows_fp32(span * cols);
      m.compute_rows(first + begin, span, rows_fp32.data());
      for (std::uint64_t i = begin; i < begin + span; ++i) {
        const std::uint64_t r = first + i;
        float* row = rows_fp32.data() + (i - begin) * cols;
        if (update.magnitude != nullptr) {
          if (update.magnitude_per_column) {
            for (std::uint64_t c = 0; c < cols; ++c) row[c] *= update.magnitude[c] / norms[c];
          } else {
            double squares = 0.0;
            for (std::uint64_t c = 0; c < cols; ++c) squares += static_cast<double>(row[c]) * row[c];
            const float factor = update.magnitude[r] / static_cast<float>(std::sqrt(squares));
            for (std::uint64_t c = 0; c < cols; ++c) row[c] *= factor;
          }
        }
        narrow(row, out_type, block.data() + i * cols * out_size, cols);
      }
    });
    const std::size_t size = count * cols * out_size;
    if (update.require_finite) {
      const std::size_t bad = count_non_finite(block.data(), out_type, count * cols);
      if (bad != 0)
        throw std::domain_error("tensor '" + name + "': the merge produced " + std::to_string(bad) +
                                " non-finite value(s) in rows " + std::to_string(first) + ".." +
                                std::to_string(first + count - 1) +
                                " (check the adapter for NaN/inf or an overflowing scale, or choose a wider dtype)");
    }
    sink(block.data(), size);
  }
}

void convert_tensor(const std::string& name, const std::uint8_t* source, io::dtype source_type, std::uint64_t count,
                    io::dtype out_type, block_sink sink, std::uint64_t block_bytes) {
  check_float(name, source_type, "source");
  check_float(name, out_type, "output");
  const std::size_t in_size = io::dtype_size(source_type);
  const std::size_t out_size = io::dtype_size(out_type);
  const std::uint64_t per_block = std::max<std::uint64_t>(1, block_bytes / 4);
  std::vector<float> wide(std::min<std::uint64_t>(count, per_block));
  std::vector<std::uint8_t> block(wide.size() * out_size);
  for (std::uint64_t first = 0; first < count; first += per_block) {
    const std::uint64_t n = std::min<std::uint64_t>(per_block, count - first);
    widen(source + first * in_size, source_type, wide.data(), n);
    narrow(wide.data(), out_type, block.data(), n);
    sink(block.data(), n * out_size);
  }
}

}  // namespace ragtune::lora
