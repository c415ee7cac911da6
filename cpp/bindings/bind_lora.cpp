// The lora area: conversion and validation of arrays for the core's merge_writer, which
// moves every byte of tensor data with the GIL released. Python decides what happens
// to each tensor (copy, merge, replace).
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
#include "ragtune/lora/merge_writer.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace py = pybind11;
namespace rio = ragtune::io;
namespace lora = ragtune::lora;

namespace {

using floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

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

// Converts arrays and validates their layout with the GIL held, then lets the core's
// merge_writer move every byte with the GIL released.
class writer {
 public:
  writer(const std::string& out_dir,
         const std::vector<std::tuple<std::string, std::string, std::vector<std::uint64_t>>>& plan,
         std::uint64_t shard_size, const std::map<std::string, std::string>& metadata, const std::string& stem) {
    std::vector<rio::planned_tensor> tensors;
    tensors.reserve(plan.size());
    for (const auto& [name, type, shape] : plan) tensors.push_back({name, parse_dtype(type), shape});
    impl_ = translated([&] {
      return std::make_unique<lora::merge_writer>(
          std::make_unique<rio::checkpoint_writer>(out_dir, std::move(tensors), shard_size, metadata, stem));
    });
  }

  void copy(const std::string& name, const rio::checkpoint& source, const std::string& source_name) {
    translated([&] {
      py::gil_scoped_release unlocked;
      impl_->copy(name, source, source_name);
      return 0;
    });
  }

  void merge(const std::string& name, const rio::checkpoint& source, const std::string& source_name,
             const std::vector<std::tuple<floats, floats, float>>& terms, std::optional<floats> dense,
             std::optional<floats> magnitude, bool magnitude_per_column, bool require_finite, int threads) {
    translated([&] {
      const auto update = as_update(name, terms, dense, magnitude, magnitude_per_column, require_finite);
      py::gil_scoped_release unlocked;
      impl_->merge(name, source, source_name, update, threads);
      return 0;
    });
  }

  // Merges onto base values held in memory (an adapter that overrides the base weight first).
  void merge_array(const std::string& name, const floats& base,
                   const std::vector<std::tuple<floats, floats, float>>& terms, std::optional<floats> dense,
                   std::optional<floats> magnitude, bool magnitude_per_column, bool require_finite, int threads) {
    translated([&] {
      const auto update = as_update(name, terms, dense, magnitude, magnitude_per_column, require_finite);
      py::gil_scoped_release unlocked;
      impl_->merge_values(name, base.data(), static_cast<std::size_t>(base.size()), update, threads);
      return 0;
    });
  }

  // Writes a whole tensor from memory (a replaced module, a new adapter's factors).
  void write(const std::string& name, const py::array& array) {
    translated([&] {
      const auto& planned = impl_->output().planned(name);
      if (lora::is_float_type(planned.type)) {
        floats values = floats::ensure(array);
        if (!values)
          throw std::invalid_argument("tensor '" + name + "' must be numeric to be written as " +
                                      std::string(rio::dtype_name(planned.type)));
        py::gil_scoped_release unlocked;
        impl_->write_floats(name, values.data(), static_cast<std::size_t>(values.size()));
        return 0;
      }
      const py::array contiguous = py::array::ensure(array, py::array::c_style);
      if (!contiguous) throw std::invalid_argument("tensor '" + name + "' must be an array");
      impl_->write_raw(name, contiguous.data(), static_cast<std::size_t>(contiguous.size()),
                       static_cast<std::size_t>(contiguous.itemsize()));
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

  rio::checkpoint_writer& impl() { return impl_->output(); }

 private:
  static std::string shape_text(const floats& a) {
    std::string out;
    for (py::ssize_t i = 0; i < a.ndim(); ++i) out += (i ? " x " : "") + std::to_string(a.shape(i));
    return out;
  }

  // The update as the core takes it: pointers into the arrays (kept alive by the caller) and their sizes.
  static lora::tensor_update as_update(const std::string& name,
                                       const std::vector<std::tuple<floats, floats, float>>& terms,
                                       const std::optional<floats>& dense, const std::optional<floats>& magnitude,
                                       bool magnitude_per_column, bool require_finite) {
    lora::tensor_update update;
    for (const auto& [left, right, scale] : terms) {
      if (left.ndim() != 2 || right.ndim() != 2 || left.shape(1) != right.shape(0) || left.shape(1) == 0)
        throw std::invalid_argument("tensor '" + name + "': a LoRA term is (" + shape_text(left) + ") @ (" +
                                    shape_text(right) + "): the adapter does not fit this base weight");
      update.terms.push_back({left.data(), right.data(), static_cast<std::size_t>(left.shape(1)), scale,
                              static_cast<std::size_t>(left.shape(0)), static_cast<std::size_t>(right.shape(1))});
    }
    if (dense) {
      update.dense = dense->data();
      update.dense_size = static_cast<std::size_t>(dense->size());
    }
    if (magnitude) {
      update.magnitude = magnitude->data();
      update.magnitude_size = static_cast<std::size_t>(magnitude->size());
      update.magnitude_per_column = magnitude_per_column;
    }
    update.require_finite = require_finite;
    return update;
  }

  std::unique_ptr<lora::merge_writer> impl_;
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
