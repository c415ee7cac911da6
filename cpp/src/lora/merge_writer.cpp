#include "ragtune/lora/merge_writer.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace ragtune::lora {
namespace {

std::uint64_t element_count(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

}  // namespace

merge_writer::merge_writer(std::unique_ptr<io::checkpoint_writer> out, std::uint64_t block_bytes)
    : out_(std::move(out)), block_bytes_(block_bytes) {
  if (!out_) throw std::invalid_argument("merge_writer needs a checkpoint writer");
  if (block_bytes_ == 0) throw std::invalid_argument("merge_writer's block_bytes must be at least 1");
}

const io::planned_tensor& merge_writer::check_shape(const std::string& name, const std::vector<std::uint64_t>& shape,
                                                    std::uint64_t elements) const {
  const auto& planned = out_->planned(name);
  if (planned.shape != shape)
    throw std::invalid_argument("tensor '" + name + "': the source has a different shape from the planned one");
  if (out_->remaining(name) != elements * io::dtype_size(planned.type))
    throw std::invalid_argument("tensor '" + name + "' was already written");
  return planned;
}

void merge_writer::copy(const std::string& name, const io::checkpoint& source, const std::string& source_name) {
  const auto& info = source.info(source_name);
  const auto& planned = check_shape(name, info.shape, info.elements());
  const std::uint8_t* bytes = source.bytes(source_name);
  if (planned.type == info.type) {
    const std::uint64_t size = info.end - info.begin;
    // One piece at a time moves between the mapping and the output file, so a copy never
    // holds more than one piece of a tensor in memory.
    for (std::uint64_t done = 0; done < size; done += block_bytes_) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block_bytes_, size - done));
      source.populate(source_name, done, done + n);
      out_->append(name, bytes + done, n);
      source.release(source_name, done, done + n);
    }
    return;
  }
  if (!is_float_type(info.type) || !is_float_type(planned.type))
    throw std::invalid_argument("tensor '" + name + "' is " + io::dtype_name(info.type) +
                                " and cannot be converted to " + io::dtype_name(planned.type));
  std::uint64_t consumed = 0;
  const std::size_t in_size = io::dtype_size(info.type);
  const std::size_t out_size = io::dtype_size(planned.type);
  convert_tensor(
      name, bytes, info.type, info.elements(), planned.type,
      [&](const std::uint8_t* block, std::size_t size) {
        out_->append(name, block, size);
        const std::uint64_t next = consumed + size / out_size * in_size;
        source.release(source_name, consumed, next);
        consumed = next;
      },
      block_bytes_);
}

void merge_writer::merge(const std::string& name, const io::checkpoint& source, const std::string& source_name,
                         const tensor_update& update, int threads) {
  const auto& info = source.info(source_name);
  const auto& planned = check_shape(name, info.shape, info.elements());
  run_merge(name, planned, source.bytes(source_name), info.type, info.shape, update, threads, &source, source_name);
}

void merge_writer::merge_values(const std::string& name, const float* base, std::size_t count,
                                const tensor_update& update, int threads) {
  const auto& planned = out_->planned(name);
  const std::uint64_t n = element_count(planned.shape);
  if (static_cast<std::uint64_t>(count) != n)
    throw std::invalid_argument("tensor '" + name + "' needs " + std::to_string(n) + " base values, got " +
                                std::to_string(count));
  check_shape(name, planned.shape, n);
  run_merge(name, planned, reinterpret_cast<const std::uint8_t*>(base), io::dtype::f32, planned.shape, update, threads,
            nullptr, name);
}

void merge_writer::write_floats(const std::string& name, const float* values, std::size_t count) {
  const auto& planned = out_->planned(name);
  const std::uint64_t n = element_count(planned.shape);
  if (static_cast<std::uint64_t>(count) != n)
    throw std::invalid_argument("tensor '" + name + "' needs " + std::to_string(n) + " elements, got " +
                                std::to_string(count));
  if (!is_float_type(planned.type))
    throw std::invalid_argument("tensor '" + name + "' is planned as " + std::string(io::dtype_name(planned.type)) +
                                ", not a float type");
  convert_tensor(name, reinterpret_cast<const std::uint8_t*>(values), io::dtype::f32, n, planned.type,
                 [&](const std::uint8_t* block, std::size_t size) { out_->append(name, block, size); });
}

void merge_writer::write_raw(const std::string& name, const void* data, std::size_t count, std::size_t item_size) {
  const auto& planned = out_->planned(name);
  const std::uint64_t n = element_count(planned.shape);
  if (static_cast<std::uint64_t>(count) != n)
    throw std::invalid_argument("tensor '" + name + "' needs " + std::to_string(n) + " elements, got " +
                                std::to_string(count));
  if (item_size != io::dtype_size(planned.type))
    throw std::invalid_argument("tensor '" + name + "' is planned as " + io::dtype_name(planned.type) +
                                " but the array's items are " + std::to_string(item_size) + " bytes");
  out_->append(name, data, count * item_size);
}

void merge_writer::commit() { out_->commit(); }

void merge_writer::run_merge(const std::string& name, const io::planned_tensor& planned, const std::uint8_t* bytes,
                             io::dtype base_type, const std::vector<std::uint64_t>& shape, const tensor_update& update,
                             int threads, const io::checkpoint* source, const std::string& source_name) {
  const std::uint64_t n = element_count(shape);
  const std::uint64_t rows = shape.size() < 2 ? 1 : shape[0];
  const std::uint64_t cols = rows == 0 ? 0 : n / rows;
  for (const auto& term : update.terms)
    if (term.rows != rows || term.cols != cols || term.rank == 0)
      throw std::invalid_argument("tensor '" + name + "' is " + std::to_string(rows) + " x " + std::to_string(cols) +
                                  " but a LoRA term is (" + std::to_string(term.rows) + " x " +
                                  std::to_string(term.rank) + ") @ (" + std::to_string(term.rank) + " x " +
                                  std::to_string(term.cols) + "): the adapter does not fit this base weight");
  if (update.dense != nullptr && static_cast<std::uint64_t>(update.dense_size) != rows * cols)
    throw std::invalid_argument("tensor '" + name + "' has " + std::to_string(rows * cols) +
                                " elements but the dense delta has " + std::to_string(update.dense_size));
  if (update.magnitude != nullptr) {
    const std::uint64_t expected = update.magnitude_per_column ? cols : rows;
    if (static_cast<std::uint64_t>(update.magnitude_size) != expected)
      throw std::invalid_argument("tensor '" + name + "': the DoRA magnitude has " +
                                  std::to_string(update.magnitude_size) + " entries, expected " +
                                  std::to_string(expected));
  }
  // Each window of rows is mapped in one call before it is merged and dropped after.
  auto prepare = [&](std::uint64_t from, std::uint64_t to) {
    if (source != nullptr) source->populate(source_name, from, to);
  };
  auto release = [&](std::uint64_t from, std::uint64_t to) {
    if (source != nullptr) source->release(source_name, from, to);
  };
  const std::size_t row_in = static_cast<std::size_t>(cols * io::dtype_size(base_type));
  const std::size_t row_out = static_cast<std::size_t>(cols * io::dtype_size(planned.type));
  std::uint64_t rows_done = 0;
  const std::uint64_t window = rows_per_block(cols, planned.type, block_bytes_) * row_in;
  prepare(0, update.magnitude_per_column ? rows * row_in : window);
  try {
    merge_tensor(
        name, bytes, base_type, rows, cols, update, planned.type, threads,
        [&](const std::uint8_t* block, std::size_t size) {
          out_->append(name, block, size);
          const std::uint64_t next = rows_done + size / row_out;
          // Column-wise DoRA reads every row twice; keep the pages until the end.
          if (!update.magnitude_per_column) {
            release(rows_done * row_in, next * row_in);
            prepare(next * row_in, next * row_in + window);
          }
          rows_done = next;
        },
        block_bytes_);
  } catch (...) {
    out_->rewind(name);
    throw;
  }
  if (update.magnitude_per_column) release(0, rows * row_in);
}

}  // namespace ragtune::lora
