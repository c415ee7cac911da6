// The lora area: the streaming checkpoint writer and the one-tensor merge. Python
// decides what happens to each tensor (copy, merge, replace); every byte of tensor
// data moves here, with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "ragtune/io/checkpoint.hpp"
#include "ragtune/io/checkpoint_writer.hpp"
#include "ragtune/io/files.hpp"
#include "ragtune/lora/merge.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace py = pybind11;
namespace rio = ragtune::io;
namespace lora = ragtune::lora;

namespace {

using floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

// Pieces of this size move between the mapping and the output file, so a copy never
// holds more than one piece of a tensor in memory.
constexpr std::size_t copy_piece = 8u << 20;

rio::dtype parse_dtype(const std::string& name) {
  try {
    return rio::parse_dtype(name);
  } catch (const rio::format_error& e) {
    throw py::value_error(e.what());
  }
}

// C++ errors as the Python exceptions a user expects: bad input → ValueError; I/O errors
// (OSError with errno and path) pass to the one translator in module.cpp.
template <class F>
auto translated(F&& body) {
  try {
    return body();
  } catch (const std::system_error&) {
    throw;
  } catch (const std::out_of_range& e) {
    throw py::key_error(e.what());
  } catch (const std::logic_error& e) {  // invalid_argument, length_error, domain_error
    throw py::value_error(e.what());
  } catch (const std::runtime_error& e) {
    throw py::value_error(e.what());
  }
}

class writer {
 public:
  writer(const std::string& out_dir,
         const std::vector<std::tuple<std::string, std::string, std::vector<std::uint64_t>>>& plan,
         std::uint64_t shard_size, const std::map<std::string, std::string>& metadata, const std::string& stem) {
    std::vector<rio::planned_tensor> tensors;
    tensors.reserve(plan.size());
    for (const auto& [name, type, shape] : plan) tensors.push_back({name, parse_dtype(type), shape});
    impl_ = translated([&] {
      return std::make_unique<rio::checkpoint_writer>(out_dir, std::move(tensors), shard_size, metadata, stem);
    });
  }

  // Copies a source tensor: byte for byte when the types agree, else converted (float types only).
  void copy(const std::string& name, const rio::checkpoint& source, const std::string& source_name) {
    translated([&] {
      const auto& info = source.info(source_name);
      const auto& planned = check_shape(name, info.shape, info.elements());
      const std::uint8_t* bytes = source.bytes(source_name);
      py::gil_scoped_release unlocked;
      if (planned.type == info.type) {
        const std::uint64_t size = info.end - info.begin;
        for (std::uint64_t done = 0; done < size; done += copy_piece) {
          const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(copy_piece, size - done));
          source.populate(source_name, done, done + n);
          impl_->append(name, bytes + done, n);
          source.release(source_name, done, done + n);
        }
      } else {
        if (!lora::is_float_type(info.type) || !lora::is_float_type(planned.type))
          throw std::invalid_argument("tensor '" + name + "' is " + rio::dtype_name(info.type) +
                                      " and cannot be converted to " + rio::dtype_name(planned.type));
        std::uint64_t consumed = 0;
        const std::size_t in_size = rio::dtype_size(info.type);
        const std::size_t out_size = rio::dtype_size(planned.type);
        lora::convert_tensor(name, bytes, info.type, info.elements(), planned.type,
                             [&](const std::uint8_t* block, std::size_t size) {
                               impl_->append(name, block, size);
                               const std::uint64_t next = consumed + size / out_size * in_size;
                               source.release(source_name, consumed, next);
                               consumed = next;
                             });
      }
      return 0;
    });
  }

  void merge(const std::string& name, const rio::checkpoint& source, const std::string& source_name,
             const std::vector<std::tuple<floats, floats, float>>& terms, std::optional<floats> dense,
             std::optional<floats> magnitude, bool magnitude_per_column, bool require_finite, int threads) {
    translated([&] {
      const auto& info = source.info(source_name);
      const auto& planned = check_shape(name, info.shape, info.elements());
      // Each window of rows is mapped in one call before it is merged and dropped after.
      run_merge(
          name, planned, source.bytes(source_name), info.type, info.shape, terms, dense, magnitude,
          magnitude_per_column, require_finite, threads,
          [&](std::uint64_t from, std::uint64_t to) { source.populate(source_name, from, to); },
          [&](std::uint64_t from, std::uint64_t to) { source.release(source_name, from, to); });
      return 0;
    });
  }

  // Merges onto base values held in memory (an adapter that overrides the base weight first).
  void merge_array(const std::string& name, const floats& base,
                   const std::vector<std::tuple<floats, floats, float>>& terms, std::optional<floats> dense,
                   std::optional<floats> magnitude, bool magnitude_per_column, bool require_finite, int threads) {
    translated([&] {
      const auto& planned = impl_->planned(name);
      std::uint64_t n = 1;
      for (auto d : planned.shape) n *= d;
      if (static_cast<std::uint64_t>(base.size()) != n)
        throw std::invalid_argument("tensor '" + name + "' needs " + std::to_string(n) + " base values, got " +
                                    std::to_string(base.size()));
      check_shape(name, planned.shape, n);
      run_merge(
          name, planned, reinterpret_cast<const std::uint8_t*>(base.data()), rio::dtype::f32, planned.shape, terms,
          dense, magnitude, magnitude_per_column, require_finite, threads, [](std::uint64_t, std::uint64_t) {},
          [](std::uint64_t, std::uint64_t) {});
      return 0;
    });
  }

  // Writes a whole tensor from memory (a replaced module, a new adapter's factors).
  void write(const std::string& name, const py::array& array) {
    translated([&] {
      const auto& planned = impl_->planned(name);
      std::uint64_t n = 1;
      for (auto d : planned.shape) n *= d;
      if (static_cast<std::uint64_t>(array.size()) != n)
        throw std::invalid_argument("tensor '" + name + "' needs " + std::to_string(n) + " elements, got " +
                                    std::to_string(array.size()));
      if (lora::is_float_type(planned.type)) {
        floats values = floats::ensure(array);
        if (!values)
          throw std::invalid_argument("tensor '" + name + "' must be numeric to be written as " +
                                      std::string(rio::dtype_name(planned.type)));
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(values.data());
        py::gil_scoped_release unlocked;
        lora::convert_tensor(name, bytes, rio::dtype::f32, n, planned.type,
                             [&](const std::uint8_t* b, std::size_t s) { impl_->append(name, b, s); });
        return 0;
      }
      const py::array contiguous = py::array::ensure(array, py::array::c_style);
      if (static_cast<std::size_t>(contiguous.itemsize()) != rio::dtype_size(planned.type))
        throw std::invalid_argument("tensor '" + name + "' is planned as " + rio::dtype_name(planned.type) +
                                    " but the array's items are " + std::to_string(contiguous.itemsize()) + " bytes");
      impl_->append(name, contiguous.data(), static_cast<std::size_t>(contiguous.nbytes()));
      return 0;
    });
  }

  void commit() {
    translated([&] {
      py::gil_scoped_release unlocked;
      impl_->commit();
      return 0;
    });
  }

  rio::checkpoint_writer& impl() { return *impl_; }

 private:
  static std::string shape_text(const floats& a) {
    std::string out;
    for (py::ssize_t i = 0; i < a.ndim(); ++i) out += (i ? " x " : "") + std::to_string(a.shape(i));
    return out;
  }

  const rio::planned_tensor& check_shape(const std::string& name, const std::vector<std::uint64_t>& shape,
                                         std::uint64_t elements) {
    const auto& planned = impl_->planned(name);
    if (planned.shape != shape)
      throw std::invalid_argument("tensor '" + name + "': the source has a different shape from the planned one");
    if (impl_->remaining(name) != elements * rio::dtype_size(planned.type))
      throw std::invalid_argument("tensor '" + name + "' was already written");
    return planned;
  }

  template <class Prepare, class Release>
  void run_merge(const std::string& name, const rio::planned_tensor& planned, const std::uint8_t* bytes,
                 rio::dtype base_type, const std::vector<std::uint64_t>& shape,
                 const std::vector<std::tuple<floats, floats, float>>& terms, const std::optional<floats>& dense,
                 const std::optional<floats>& magnitude, bool magnitude_per_column, bool require_finite, int threads,
                 Prepare prepare, Release release) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    const std::uint64_t rows = shape.size() < 2 ? 1 : shape[0];
    const std::uint64_t cols = rows == 0 ? 0 : n / rows;
    lora::tensor_update update;
    for (const auto& [left, right, scale] : terms) {
      if (left.ndim() != 2 || right.ndim() != 2 || static_cast<std::uint64_t>(left.shape(0)) != rows ||
          static_cast<std::uint64_t>(right.shape(1)) != cols || left.shape(1) != right.shape(0) || left.shape(1) == 0)
        throw std::invalid_argument("tensor '" + name + "' is " + std::to_string(rows) + " x " + std::to_string(cols) +
                                    " but a LoRA term is (" + shape_text(left) + ") @ (" + shape_text(right) +
                                    "): the adapter does not fit this base weight");
      update.terms.push_back({left.data(), right.data(), static_cast<std::size_t>(left.shape(1)), scale});
    }
    if (dense) {
      if (static_cast<std::uint64_t>(dense->size()) != rows * cols)
        throw std::invalid_argument("tensor '" + name + "' has " + std::to_string(rows * cols) +
                                    " elements but the dense delta has " + std::to_string(dense->size()));
      update.dense = dense->data();
    }
    if (magnitude) {
      const std::uint64_t expected = magnitude_per_column ? cols : rows;
      if (static_cast<std::uint64_t>(magnitude->size()) != expected)
        throw std::invalid_argument("tensor '" + name + "': the DoRA magnitude has " +
                                    std::to_string(magnitude->size()) + " entries, expected " +
                                    std::to_string(expected));
      update.magnitude = magnitude->data();
      update.magnitude_per_column = magnitude_per_column;
    }
    update.require_finite = require_finite;
    const std::size_t row_in = static_cast<std::size_t>(cols * rio::dtype_size(base_type));
    const std::size_t row_out = static_cast<std::size_t>(cols * rio::dtype_size(planned.type));
    py::gil_scoped_release unlocked;
    std::uint64_t rows_done = 0;
    const std::uint64_t window = lora::rows_per_block(cols, planned.type) * row_in;
    prepare(0, update.magnitude_per_column ? rows * row_in : window);
    try {
      lora::merge_tensor(name, bytes, base_type, rows, cols, update, planned.type, threads,
                         [&](const std::uint8_t* block, std::size_t size) {
                           impl_->append(name, block, size);
                           const std::uint64_t next = rows_done + size / row_out;
                           // Column-wise DoRA reads every row twice; keep the pages until the end.
                           if (!update.magnitude_per_column) {
                             release(rows_done * row_in, next * row_in);
                             prepare(next * row_in, next * row_in + window);
                           }
                           rows_done = next;
                         });
    } catch (...) {
      impl_->rewind(name);
      throw;
    }
    if (update.magnitude_per_column) release(0, rows * row_in);
  }

  std::unique_ptr<rio::checkpoint_writer> impl_;
};

}  // namespace

void bind_lora(py::module_& m) {
  py::class_<writer>(m, "CheckpointWriter",
                     "Streams tensors into safetensors shards in a hidden folder; commit() publishes it atomically.")
      .def(py::init<const std::string&,
                    const std::vector<std::tuple<std::string, std::string, std::vector<std::uint64_t>>>&, std::uint64_t,
                    const std::map<std::string, std::string>&, const std::string&>(),
           py::arg("out_dir"), py::arg("tensors"), py::arg("shard_size"), py::arg("metadata"),
           py::arg("stem") = "model")
      .def("copy", &writer::copy, py::arg("name"), py::arg("source"), py::arg("source_name"))
      .def("merge", &writer::merge, py::arg("name"), py::arg("source"), py::arg("source_name"), py::arg("terms"),
           py::arg("dense") = py::none(), py::arg("magnitude") = py::none(), py::arg("magnitude_per_column") = false,
           py::arg("require_finite") = false, py::arg("threads") = 0)
      .def("merge_array", &writer::merge_array, py::arg("name"), py::arg("base"), py::arg("terms"),
           py::arg("dense") = py::none(), py::arg("magnitude") = py::none(), py::arg("magnitude_per_column") = false,
           py::arg("require_finite") = false, py::arg("threads") = 0)
      .def("write", &writer::write, py::arg("name"), py::arg("array"))
      .def("commit", &writer::commit)
      .def("abort", [](writer& w) { w.impl().abort(); })
      .def_property_readonly(
          "file_order", [](writer& w) { return w.impl().file_order(); },
          "Tensor names in file order: writing in this order streams every shard to disk.")
      .def_property_readonly("staging_dir", [](writer& w) { return w.impl().staging_dir(); })
      .def_property_readonly("out_dir", [](writer& w) { return w.impl().out_dir(); })
      .def_property_readonly("shard_count", [](writer& w) { return w.impl().shard_count(); })
      .def_property_readonly("total_bytes", [](writer& w) { return w.impl().total_bytes(); })
      .def_property_readonly("committed", [](writer& w) { return w.impl().committed(); });

  m.def(
      "round_float32",
      [](const floats& values, const std::string& dtype) {
        const auto type = parse_dtype(dtype);
        if (type != rio::dtype::f16 && type != rio::dtype::bf16) throw py::value_error("dtype must be F16 or BF16");
        py::array_t<std::uint16_t> out(values.size());
        ragtune::simd::narrow_16(values.data(), out.mutable_data(), static_cast<std::size_t>(values.size()),
                                 type == rio::dtype::bf16);
        return out;
      },
      py::arg("values"), py::arg("dtype"), "float32 values rounded once (nearest-even) to F16/BF16 bit patterns.");
  m.def(
      "widen_16",
      [](const py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>& bits, const std::string& dtype) {
        const auto type = parse_dtype(dtype);
        if (type != rio::dtype::f16 && type != rio::dtype::bf16) throw py::value_error("dtype must be F16 or BF16");
        py::array_t<float> out(bits.size());
        ragtune::simd::widen_16(bits.data(), out.mutable_data(), static_cast<std::size_t>(bits.size()),
                                type == rio::dtype::bf16);
        return out;
      },
      py::arg("bits"), py::arg("dtype"), "F16/BF16 bit patterns widened exactly to float32.");
}
