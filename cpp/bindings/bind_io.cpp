// The io area: the validating safetensors reader. Tensors come back as numpy
// arrays copied out of the mapping (the file may be closed or replaced later).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "ragtune/io/checkpoint.hpp"
#include "ragtune/io/files.hpp"
#include "ragtune/io/safetensors.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace py = pybind11;
namespace rio = ragtune::io;

namespace {

// numpy's type for a safetensors dtype, read off the one dtype table (name and size):
// F16/F32/F64 are floats, I* signed, BOOL bool; BF16 and the F8 types have no numpy
// type and come back as raw unsigned bits of their size.
py::dtype numpy_type(rio::dtype type) {
  const std::string name = rio::dtype_name(type);
  const std::size_t size = rio::dtype_size(type);
  const bool ieee_float = name[0] == 'F' && name.size() == 3;  // F16, F32, F64; not F8_E5M2 / F8_E4M3
  const char kind = type == rio::dtype::boolean ? 'b' : ieee_float ? 'f' : name[0] == 'I' ? 'i' : 'u';
  return py::dtype(std::string(1, kind) + std::to_string(size));
}

py::array raw_array(const rio::tensor_info& t, const std::uint8_t* bytes) {
  std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
  py::array out(numpy_type(t.type), shape);
  std::memcpy(out.mutable_data(), bytes, t.end - t.begin);
  return out;
}

py::array_t<float> float32_array(const rio::tensor_info& t, const std::uint8_t* source) {
  if (t.type != rio::dtype::f32 && t.type != rio::dtype::f16 && t.type != rio::dtype::bf16)
    throw py::type_error("tensor '" + t.name + "' is " + rio::dtype_name(t.type) +
                         "; read_float32 converts F32, F16 and BF16");
  std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
  py::array_t<float> out(shape);
  float* target = out.mutable_data();
  const std::uint64_t n = t.elements();
  if (t.type == rio::dtype::f32) {
    std::memcpy(target, source, n * 4);
  } else {
    std::vector<std::uint16_t> bits(n);  // the mapping promises no 2-byte alignment
    std::memcpy(bits.data(), source, n * 2);
    ragtune::simd::widen_16(bits.data(), target, n, t.type == rio::dtype::bf16);
  }
  return out;
}

// Runs `open`. I/O errors (OSError) and malformed files (ValueError) pass to the one
// translator in module.cpp; a parser's own runtime_error is a malformed file too.
template <class F>
auto opening(F&& open) {
  try {
    return open();
  } catch (const std::system_error&) {
    throw;
  } catch (const rio::format_error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw py::value_error(e.what());
  }
}

template <class Lookup>
auto looked_up(Lookup&& lookup) {
  try {
    return lookup();
  } catch (const std::out_of_range& e) {
    throw py::key_error(e.what());
  }
}

}  // namespace

void bind_io(py::module_& m) {
  // The one table of safetensors dtypes (name -> bytes per element), for ragtune.lora.
  py::dict dtypes;
  for (auto type : rio::all_dtypes()) dtypes[rio::dtype_name(type)] = rio::dtype_size(type);
  m.attr("SAFETENSORS_DTYPES") = dtypes;

  py::class_<rio::safetensors_file, std::shared_ptr<rio::safetensors_file>>(
      m, "SafetensorsFile", "A validated, memory-mapped safetensors file.")
      .def(py::init([](const std::string& path) {
             return opening([&] { return std::make_shared<rio::safetensors_file>(rio::safetensors_file::open(path)); });
           }),
           py::arg("path"))
      .def_property_readonly("metadata", &rio::safetensors_file::metadata)
      .def_property_readonly("file_size", &rio::safetensors_file::file_size)
      .def_property_readonly("tensors",
                             [](const rio::safetensors_file& f) {
                               py::list out;
                               for (const auto& t : f.tensors()) {
                                 py::dict d;
                                 d["name"] = t.name;
                                 d["dtype"] = rio::dtype_name(t.type);
                                 d["shape"] = t.shape;
                                 d["data_offsets"] = py::make_tuple(t.begin, t.end);
                                 out.append(d);
                               }
                               return out;
                             })
      .def(
          "read",
          [](const rio::safetensors_file& f, const std::string& name) {
            const auto& t = looked_up([&]() -> const rio::tensor_info& { return f.find(name); });
            return raw_array(t, f.bytes(t));
          },
          py::arg("name"), "The tensor as a numpy array (BF16 and F8 as their raw bits).")
      .def(
          "read_float32",
          [](const rio::safetensors_file& f, const std::string& name) {
            const auto& t = looked_up([&]() -> const rio::tensor_info& { return f.find(name); });
            return float32_array(t, f.bytes(t));
          },
          py::arg("name"), "The tensor converted exactly to float32 (F32, F16, BF16).");

  py::class_<rio::checkpoint, std::shared_ptr<rio::checkpoint>>(
      m, "SafetensorsCheckpoint", "A checkpoint folder: model.safetensors or shards from model.safetensors.index.json.")
      .def(py::init([](const std::string& path) {
             return opening([&] { return std::make_shared<rio::checkpoint>(rio::checkpoint::open(path)); });
           }),
           py::arg("path"))
      .def_property_readonly("names", &rio::checkpoint::names)
      .def_property_readonly("shard_names", &rio::checkpoint::shard_names)
      .def_property_readonly("metadata", &rio::checkpoint::metadata)
      .def(
          "shard_of",
          [](const rio::checkpoint& c, const std::string& name) { return looked_up([&] { return c.shard_of(name); }); },
          py::arg("name"))
      .def(
          "prefetch",
          [](const rio::checkpoint& c, const std::string& name) {
            looked_up([&] {
              c.prefetch(name);
              return 0;
            });
          },
          py::arg("name"), "Start reading a tensor from disk in the background.")
      .def(
          "info",
          [](const rio::checkpoint& c, const std::string& name) {
            const auto& t = looked_up([&]() -> const rio::tensor_info& { return c.info(name); });
            py::dict d;
            d["name"] = t.name;
            d["dtype"] = rio::dtype_name(t.type);
            d["shape"] = t.shape;
            return d;
          },
          py::arg("name"))
      .def(
          "read",
          [](const rio::checkpoint& c, const std::string& name) {
            const auto& t = looked_up([&]() -> const rio::tensor_info& { return c.info(name); });
            return raw_array(t, c.bytes(name));
          },
          py::arg("name"))
      .def(
          "read_float32",
          [](const rio::checkpoint& c, const std::string& name) {
            const auto& t = looked_up([&]() -> const rio::tensor_info& { return c.info(name); });
            return float32_array(t, c.bytes(name));
          },
          py::arg("name"));
}
