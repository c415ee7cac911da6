// The private extension ragtune._core: one bind_<area> per area of the C++ core.
#include <pybind11/pybind11.h>

#include "chunk_type.hpp"
#include "ragtune/simd/isa.hpp"

namespace py = pybind11;

void bind_simd(py::module_& m);
void bind_text(py::module_& m);
void bind_index(py::module_& m);
void bind_raft(py::module_& m);
void bind_io(py::module_& m);
void bind_lora(py::module_& m);

#ifndef RAGTUNE_VERSION
#define RAGTUNE_VERSION "0.0.0"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "ragtune's C++ core (private: use the ragtune package).";
  m.attr("__version__") = RAGTUNE_VERSION;
  ragtune::bindings::add_chunk_type(m.ptr());
  bind_simd(m);
  // A bad RAGTUNE_FORCE_ISA fails the import (naming the valid ISAs) instead of being ignored.
  ragtune::simd::active_isa();
  bind_text(m);
  bind_index(m);
  bind_raft(m);
  bind_io(m);
  bind_lora(m);
}
