#pragma once
// ragtune._core.ChunkBase: the storage of ragtune.Chunk as a C type, so the core
// can create millions of chunks at C speed. ragtune.Chunk subclasses it in Python
// (adding citation(), __repr__ and docs) and registers itself with set_chunk_type;
// the core then allocates instances of that subclass directly.
#include <Python.h>

#include <cstdint>

namespace ragtune::bindings {

struct chunk_fields {
  std::int64_t start, end, byte_start, byte_end, line_start, line_end, index;
};

/// Adds ChunkBase and set_chunk_type to the module.
void add_chunk_type(PyObject* module);

/// A new chunk of the registered type; steals no references. Returns nullptr with a
/// Python error set on failure.
PyObject* new_chunk(PyObject* text, const chunk_fields& fields, PyObject* source);

}  // namespace ragtune::bindings
