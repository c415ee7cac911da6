#pragma once
// Python values the bindings share: a str's UTF-8 as a view (no copy), and numpy
// arrays that take over a C++ vector's buffer.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ragtune::bindings {

namespace py = pybind11;

/// The UTF-8 of a str, kept by CPython with the object (valid while it lives). TypeError
/// for a non-str and ValueError for an unpaired surrogate, naming `what[position]`.
inline std::string_view utf8_of(const py::handle& object, const char* what, std::size_t position) {
  auto name = [&] { return std::string(what) + "[" + std::to_string(position) + "]"; };
  if (!PyUnicode_Check(object.ptr()))
    throw py::type_error(name() + " must be str, got " + Py_TYPE(object.ptr())->tp_name);
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    throw py::value_error(name() +
                          " is not valid Unicode: it holds an unpaired surrogate (U+D800..U+DFFF); "
                          "decode your bytes with errors='replace' or clean the text first");
  }
  return {data, static_cast<std::size_t>(size)};
}

/// A numpy array owning `values`' buffer (no copy), 1-D or of the given shape.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values, std::vector<py::ssize_t> shape = {}) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  if (shape.empty()) shape = {static_cast<py::ssize_t>(owned->size())};
  return py::array_t<T>(shape, owned->data(), free_when_done);
}

}  // namespace ragtune::bindings
