// SIMD introspection, ISA forcing, and raw kernel entry points for the tests that
// compare every kernel on every ISA against a numpy reference.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "ragtune/simd/isa.hpp"
#include "ragtune/simd/text_kernels.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace py = pybind11;
namespace simd = ragtune::simd;

namespace {

std::string_view view_of(const py::bytes& data) {
  char* buffer = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(data.ptr(), &buffer, &size) != 0) throw py::error_already_set();
  return {buffer, static_cast<std::size_t>(size)};
}

const std::uint8_t* bytes_of(std::string_view v) { return reinterpret_cast<const std::uint8_t*>(v.data()); }

// dot(query, row) for each row of a compact matrix, through the active ISA's kernel.
template <class Code>
py::array_t<float> dot_rows(const py::array_t<float, py::array::c_style | py::array::forcecast>& query,
                            const py::array_t<Code, py::array::c_style | py::array::forcecast>& rows,
                            float (*kernel)(const float*, const Code*, std::size_t) noexcept) {
  if (query.ndim() != 1 || rows.ndim() != 2 || rows.shape(1) != query.shape(0))
    throw py::value_error("expected a query of d floats and rows of shape (n, d)");
  const auto n = static_cast<std::size_t>(rows.shape(0)), dim = static_cast<std::size_t>(rows.shape(1));
  py::array_t<float> out(static_cast<py::ssize_t>(n));
  for (std::size_t i = 0; i < n; ++i) out.mutable_data()[i] = kernel(query.data(), rows.data() + i * dim, dim);
  return out;
}

}  // namespace

void bind_simd(py::module_& m) {
  m.def(
      "simd_info",
      [] {
        py::dict info;
        info["active"] = simd::isa_name(simd::active_isa());
        py::list available;
        for (auto value : simd::available_isas()) available.append(simd::isa_name(value));
        info["available"] = available;
        return info;
      },
      "Active ISA and the ISAs this CPU runs.");
  m.def(
      "force_isa",
      [](std::optional<std::string> name) {
        if (name)
          simd::force_isa(simd::parse_isa(*name));
        else
          simd::reset_isa();
      },
      py::arg("name"), "Pin the kernels to one ISA; None returns to automatic selection.");

  m.def("_kernel_count_codepoints", [](const py::bytes& data) {
    auto v = view_of(data);
    return simd::count_codepoints(bytes_of(v), v.size());
  });
  m.def("_kernel_count_byte", [](const py::bytes& data, int value) {
    if (value < 0 || value > 255) throw py::value_error("value must be a byte (0..255), got " + std::to_string(value));
    auto v = view_of(data);
    return simd::count_byte(bytes_of(v), v.size(), static_cast<std::uint8_t>(value));
  });
  m.def("_kernel_is_ascii", [](const py::bytes& data) {
    auto v = view_of(data);
    return simd::is_ascii(bytes_of(v), v.size());
  });
  m.def("_kernel_dot_f16", [](const py::array_t<float, py::array::c_style | py::array::forcecast>& query,
                              const py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>& rows) {
    return dot_rows<std::uint16_t>(query, rows, &simd::dot_f16);
  });
  m.def("_kernel_dot_i8", [](const py::array_t<float, py::array::c_style | py::array::forcecast>& query,
                             const py::array_t<std::int8_t, py::array::c_style | py::array::forcecast>& rows) {
    return dot_rows<std::int8_t>(query, rows, &simd::dot_i8);
  });
  m.def("_kernel_find_all", [](const py::bytes& haystack, const py::bytes& needle) {
    auto h = view_of(haystack);
    auto n = view_of(needle);
    std::vector<std::size_t> out(h.size() + 1);
    out.resize(simd::find_all(bytes_of(h), h.size(), bytes_of(n), n.size(), out.data(), out.size()));
    return out;
  });
}
