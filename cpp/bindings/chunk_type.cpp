#include "chunk_type.hpp"

#include <structmember.h>

#include <stdexcept>

namespace ragtune::bindings {
namespace {

// A chunk refers to its text and source (both str) and to a metadata dict that
// is created only when first used. Like CPython's tuples and dicts, a chunk stays
// out of the cyclic GC until it can be part of a cycle, i.e. until it has a
// metadata dict: a corpus of fresh chunks costs the collector nothing.
struct chunk_object {
  PyObject_HEAD PyObject* text;
  std::int64_t start, end, byte_start, byte_end, line_start, line_end, index;
  PyObject* source;    // str or Py_None
  PyObject* metadata;  // dict, or nullptr until first used
};

// Fields are NULL in an object made by __new__ without __init__; read them as None.
PyObject* or_none(PyObject* field) { return field != nullptr ? field : Py_None; }

void track_once(PyObject* self) {
  if (!PyObject_GC_IsTracked(self)) PyObject_GC_Track(self);
}

int set_metadata(chunk_object* c, PyObject* value) {
  if (value == nullptr || !PyDict_Check(value)) {
    PyErr_SetString(PyExc_TypeError, "metadata must be a dict");
    return -1;
  }
  Py_XSETREF(c->metadata, Py_NewRef(value));
  track_once(reinterpret_cast<PyObject*>(c));
  return 0;
}

int set_source(chunk_object* c, PyObject* value) {
  if (value == nullptr || (value != Py_None && !PyUnicode_Check(value))) {
    PyErr_SetString(PyExc_TypeError, "source must be str or None");
    return -1;
  }
  Py_XSETREF(c->source, Py_NewRef(value));
  return 0;
}

PyObject* get_metadata(PyObject* self, void*) {
  auto* c = reinterpret_cast<chunk_object*>(self);
  if (c->metadata == nullptr) {
    c->metadata = PyDict_New();
    if (c->metadata == nullptr) return nullptr;
    track_once(self);
  }
  return Py_NewRef(c->metadata);
}

int setter_metadata(PyObject* self, PyObject* value, void*) {
  return set_metadata(reinterpret_cast<chunk_object*>(self), value);
}

PyObject* get_source(PyObject* self, void*) {
  return Py_NewRef(or_none(reinterpret_cast<chunk_object*>(self)->source));
}

int setter_source(PyObject* self, PyObject* value, void*) {
  return set_source(reinterpret_cast<chunk_object*>(self), value);
}

PyTypeObject* registered_type = nullptr;  // ragtune.Chunk once it registers, else ChunkBase

int chunk_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* c = reinterpret_cast<chunk_object*>(self);
  Py_VISIT(c->text);
  Py_VISIT(c->source);
  Py_VISIT(c->metadata);
  Py_VISIT(Py_TYPE(self));
  return 0;
}

int chunk_clear(PyObject* self) {
  auto* c = reinterpret_cast<chunk_object*>(self);
  Py_CLEAR(c->text);
  Py_CLEAR(c->source);
  Py_CLEAR(c->metadata);
  return 0;
}

void chunk_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  chunk_clear(self);
  type->tp_free(self);
  Py_DECREF(type);  // heap types own a reference from each instance
}

int chunk_init(PyObject* self, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"text",     "start", "end",    "byte_start", "byte_end", "line_start",
                                "line_end", "index", "source", "metadata",   nullptr};
  auto* c = reinterpret_cast<chunk_object*>(self);
  PyObject* text = nullptr;
  PyObject* source = Py_None;
  PyObject* metadata = Py_None;
  long long v[7];
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ULLLLLLL|OO", const_cast<char**>(names), &text, &v[0], &v[1], &v[2],
                                   &v[3], &v[4], &v[5], &v[6], &source, &metadata))
    return -1;
  if (set_source(c, source) < 0) return -1;
  if (metadata != Py_None && set_metadata(c, metadata) < 0) return -1;
  Py_XSETREF(c->text, Py_NewRef(text));
  c->start = v[0];
  c->end = v[1];
  c->byte_start = v[2];
  c->byte_end = v[3];
  c->line_start = v[4];
  c->line_end = v[5];
  c->index = v[6];
  return 0;
}

PyObject* chunk_richcompare(PyObject* a, PyObject* b, int op) {
  if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, Py_TYPE(a))) Py_RETURN_NOTIMPLEMENTED;
  auto* x = reinterpret_cast<chunk_object*>(a);
  auto* y = reinterpret_cast<chunk_object*>(b);
  bool equal = x->start == y->start && x->end == y->end && x->byte_start == y->byte_start &&
               x->byte_end == y->byte_end && x->line_start == y->line_start && x->line_end == y->line_end &&
               x->index == y->index;
  for (auto [l, r] :
       {std::pair{or_none(x->text), or_none(y->text)}, std::pair{or_none(x->source), or_none(y->source)}}) {
    if (!equal) break;
    const int same = PyObject_RichCompareBool(l, r, Py_EQ);
    if (same < 0) return nullptr;
    equal = same == 1;
  }
  if (equal && (x->metadata != nullptr || y->metadata != nullptr)) {
    // No dict yet means an empty one.
    const bool x_empty = x->metadata == nullptr || PyDict_GET_SIZE(x->metadata) == 0;
    const bool y_empty = y->metadata == nullptr || PyDict_GET_SIZE(y->metadata) == 0;
    if (x_empty || y_empty) {
      equal = x_empty && y_empty;
    } else {
      const int same = PyObject_RichCompareBool(x->metadata, y->metadata, Py_EQ);
      if (same < 0) return nullptr;
      equal = same == 1;
    }
  }
  return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

PyObject* set_chunk_type(PyObject*, PyObject* type) {
  if (!PyType_Check(type) || !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(type), registered_type)) {
    PyErr_SetString(PyExc_TypeError, "set_chunk_type needs a subclass of ChunkBase");
    return nullptr;
  }
  Py_INCREF(type);
  Py_XDECREF(reinterpret_cast<PyObject*>(registered_type));
  registered_type = reinterpret_cast<PyTypeObject*>(type);
  Py_RETURN_NONE;
}

PyMemberDef members[] = {
    {"text", T_OBJECT, offsetof(chunk_object, text), READONLY, "The chunk's text."},
    {"start", T_LONGLONG, offsetof(chunk_object, start), READONLY, "Code-point offset of the first character."},
    {"end", T_LONGLONG, offsetof(chunk_object, end), READONLY, "Code-point offset just past the last character."},
    {"byte_start", T_LONGLONG, offsetof(chunk_object, byte_start), READONLY, "UTF-8 byte offset of the start."},
    {"byte_end", T_LONGLONG, offsetof(chunk_object, byte_end), READONLY, "UTF-8 byte offset of the end."},
    {"line_start", T_LONGLONG, offsetof(chunk_object, line_start), READONLY, "1-based line of the first character."},
    {"line_end", T_LONGLONG, offsetof(chunk_object, line_end), READONLY, "1-based line of the last character."},
    {"index", T_LONGLONG, offsetof(chunk_object, index), READONLY, "Position of the chunk in its document."},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef properties[] = {
    {"source", get_source, setter_source, "Where the document came from (str), or None.", nullptr},
    {"metadata", get_metadata, setter_metadata, "Extra information (a dict).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_doc, const_cast<char*>("Storage of ragtune.Chunk (use ragtune.Chunk).")},
    {Py_tp_init, reinterpret_cast<void*>(chunk_init)},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(chunk_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(chunk_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(chunk_clear)},
    {Py_tp_richcompare, reinterpret_cast<void*>(chunk_richcompare)},
    {Py_tp_hash, reinterpret_cast<void*>(PyObject_HashNotImplemented)},
    {Py_tp_members, members},
    {Py_tp_getset, properties},
    {0, nullptr},
};

PyType_Spec spec = {"ragtune._core.ChunkBase", sizeof(chunk_object), 0,
                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, slots};

PyMethodDef set_chunk_type_def = {"set_chunk_type", set_chunk_type, METH_O,
                                  "Register the ChunkBase subclass the core creates (ragtune.Chunk)."};

}  // namespace

void add_chunk_type(PyObject* module) {
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr || PyModule_AddObjectRef(module, "ChunkBase", type) < 0) throw std::runtime_error("ChunkBase");
  registered_type = reinterpret_cast<PyTypeObject*>(type);  // keeps the reference PyType_FromSpec gave
  PyObject* function = PyCFunction_NewEx(&set_chunk_type_def, nullptr, nullptr);
  if (function == nullptr || PyModule_AddObject(module, "set_chunk_type", function) < 0)
    throw std::runtime_error("set_chunk_type");
}

PyObject* new_chunk(PyObject* text, const chunk_fields& fields, PyObject* source) {
  PyObject* self = registered_type->tp_alloc(registered_type, 0);  // also takes a reference to the type
  if (self == nullptr) return nullptr;
  PyObject_GC_UnTrack(self);  // holds only str until its metadata is used
  auto* c = reinterpret_cast<chunk_object*>(self);
  c->text = Py_NewRef(text);
  c->start = fields.start;
  c->end = fields.end;
  c->byte_start = fields.byte_start;
  c->byte_end = fields.byte_end;
  c->line_start = fields.line_start;
  c->line_end = fields.line_end;
  c->index = fields.index;
  c->source = Py_NewRef(source);
  c->metadata = nullptr;
  return self;
}

}  // namespace ragtune::bindings
