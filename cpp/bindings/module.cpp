// The private extension ragtune._core: one bind_<area> per area of the C++ core.
#include <pybind11/pybind11.h>

#include <exception>
#include <string>
#include <system_error>

#include "chunk_type.hpp"
#include "ragtune/io/files.hpp"
#include "ragtune/simd/isa.hpp"

namespace py = pybind11;

void bind_simd(py::module_& m);
void bind_text(py::module_& m);
void bind_index(py::module_& m);
void bind_raft(py::module_& m);
void bind_raft_records(py::module_& m);
void bind_io(py::module_& m);
void bind_lora(py::module_& m);

#ifndef RAGTUNE_VERSION
#define RAGTUNE_VERSION "0.0.0"
#endif

namespace {

// The one mapping of the core's errors: I/O failures become OSError(errno, message, path)
// (so Python picks the subclass: FileNotFoundError, FileExistsError, ...; a full disk is
// errno 28), files in a bad format become ValueError.
void translate_errors(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const ragtune::io::io_error& e) {
    const std::string message = e.action() + " (" + e.code().message() + ")";
    PyObject* value = PyObject_CallFunction(PyExc_OSError, "iss", e.code().value(), message.c_str(), e.path().c_str());
    if (value != nullptr) {
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(value)), value);
      Py_DECREF(value);
    }
  } catch (const std::system_error& e) {
    PyObject* value = PyObject_CallFunction(PyExc_OSError, "is", e.code().value(), e.what());
    if (value != nullptr) {
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(value)), value);
      Py_DECREF(value);
    }
  } catch (const ragtune::io::format_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  }
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "ragtune's C++ core (private: use the ragtune package).";
  py::register_exception_translator(&translate_errors);
  m.attr("__version__") = RAGTUNE_VERSION;
  ragtune::bindings::add_chunk_type(m.ptr());
  bind_simd(m);
  // A bad RAGTUNE_FORCE_ISA fails the import (naming the valid ISAs) instead of being ignored.
  ragtune::simd::active_isa();
  bind_text(m);
  bind_index(m);
  bind_raft(m);
  bind_raft_records(m);
  bind_io(m);
  bind_lora(m);
}
