// The index area: vectors by slot (exact + HNSW search) and BM25. Arrays are
// validated and converted with the GIL held; the core runs without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "python_values.hpp"
#include "ragtune/index/bm25.hpp"
#include "ragtune/index/vector_index.hpp"
#include "ragtune/text/hashing_embedder.hpp"

namespace py = pybind11;
namespace ix = ragtune::index;

namespace {

using float_array = py::array_t<float, py::array::c_style | py::array::forcecast>;
using slot_array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

ix::metric parse_metric(const std::string& name) {
  if (name == "cosine") return ix::metric::cosine;
  if (name == "ip") return ix::metric::inner_product;
  if (name == "l2") return ix::metric::l2;
  throw py::value_error("metric must be 'cosine', 'ip' or 'l2', got '" + name + "'");
}

const char* metric_name(ix::metric m) {
  switch (m) {
    case ix::metric::cosine:
      return "cosine";
    case ix::metric::inner_product:
      return "ip";
    case ix::metric::l2:
      return "l2";
  }
  return "?";
}

ix::row_type parse_row_type(const std::string& name) {
  if (name == "f32") return ix::row_type::f32;
  if (name == "f16") return ix::row_type::f16;
  if (name == "int8") return ix::row_type::i8;
  throw py::value_error("dtype must be 'f32', 'f16' or 'int8', got '" + name + "'");
}

const char* row_type_name(ix::row_type type) {
  switch (type) {
    case ix::row_type::f16:
      return "f16";
    case ix::row_type::i8:
      return "int8";
    case ix::row_type::f32:
      break;
  }
  return "f32";
}

ix::search_mode parse_mode(const std::string& name) {
  if (name == "auto") return ix::search_mode::automatic;
  if (name == "exact") return ix::search_mode::exact;
  if (name == "hnsw") return ix::search_mode::graph;
  throw py::value_error("mode must be 'auto', 'exact' or 'hnsw', got '" + name + "'");
}

// A (n, dim) float32 matrix of finite values.
float_array matrix(const py::handle& object, std::size_t dim, const char* what) {
  float_array array = float_array::ensure(object);
  if (!array) throw py::type_error(std::string(what) + " must be an array of numbers");
  if (array.ndim() == 1 && static_cast<std::size_t>(array.shape(0)) == dim)
    array = array.reshape({py::ssize_t(1), py::ssize_t(dim)});
  if (array.ndim() != 2 || static_cast<std::size_t>(array.shape(1)) != dim) {
    std::string shape;
    for (py::ssize_t d = 0; d < array.ndim(); ++d) shape += (d ? ", " : "") + std::to_string(array.shape(d));
    throw py::value_error(std::string(what) + " must have shape (n, " + std::to_string(dim) + "), got (" + shape + ")");
  }
  const float* data = array.data();
  for (py::ssize_t i = 0; i < array.size(); ++i)
    if (!std::isfinite(data[i]))
      throw py::value_error(std::string(what) + " holds NaN or infinity at row " +
                            std::to_string(i / static_cast<py::ssize_t>(dim)));
  return array;
}

slot_array slots_of(const py::handle& object, std::size_t expected, const char* what) {
  slot_array array = slot_array::ensure(object);
  if (!array || array.ndim() != 1) throw py::type_error(std::string(what) + " must be a 1-D array of slot numbers");
  if (expected != static_cast<std::size_t>(-1) && static_cast<std::size_t>(array.shape(0)) != expected)
    throw py::value_error(std::string(what) + " has " + std::to_string(array.shape(0)) + " entries for " +
                          std::to_string(expected) + " rows");
  for (py::ssize_t i = 0; i < array.size(); ++i)
    if (array.data()[i] < 0) throw py::value_error(std::string(what) + " must be >= 0");
  return array;
}

// (scores (nq, k), slots (nq, k)) owning their buffers.
py::tuple to_python(ix::search_results&& r) {
  const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(r.queries), static_cast<py::ssize_t>(r.k)};
  return py::make_tuple(ragtune::bindings::to_numpy(std::move(r.scores), shape),
                        ragtune::bindings::to_numpy(std::move(r.slots), shape));
}

std::vector<std::string_view> views_of(const std::vector<std::string>& texts) { return {texts.begin(), texts.end()}; }

}  // namespace

void bind_index(py::module_& m) {
  // The index's defaults are defined once, by the C++ parameter structs, and exported
  // for the Python Index's signature.
  const ix::hnsw_params hnsw{};
  const ix::bm25_params bm25{};
  py::dict defaults;
  defaults["m"] = hnsw.m;
  defaults["ef_construction"] = hnsw.ef_construction;
  defaults["ef_search"] = hnsw.ef_search;
  defaults["seed"] = hnsw.seed;
  defaults["exact_below"] = hnsw.min_graph_size;
  defaults["bm25_k1"] = static_cast<double>(bm25.k1);
  defaults["bm25_b"] = static_cast<double>(bm25.b);
  m.attr("INDEX_DEFAULTS") = defaults;

  m.def(
      "hash_embed",
      [](const std::vector<std::string>& texts, std::size_t dim, bool bigrams, int threads) {
        if (dim == 0 || dim > 65536)
          throw py::value_error("dim must be between 1 and 65536, got " + std::to_string(dim));
        if (threads < 0) throw py::value_error("threads must be >= 0");
        py::array_t<float> out({static_cast<py::ssize_t>(texts.size()), static_cast<py::ssize_t>(dim)});
        float* target = out.mutable_data();
        const auto views = views_of(texts);
        {
          py::gil_scoped_release nogil;
          ragtune::text::hash_embed(views, dim, bigrams, target, threads);
        }
        return out;
      },
      py::arg("texts"), py::kw_only(), py::arg("dim"), py::arg("bigrams") = true, py::arg("threads") = 0,
      "Feature-hashing embeddings (n, dim), L2-normalised.");

  py::class_<ix::bitset>(m, "SlotFilter", "A set of allowed slots, built once and reused across searches.")
      .def(py::init([](py::array_t<bool, py::array::c_style | py::array::forcecast> allowed) {
             if (allowed.ndim() != 1) throw py::value_error("a slot filter is a 1-D boolean array");
             ix::bitset bits(static_cast<std::size_t>(allowed.shape(0)));
             const bool* data = allowed.data();
             for (py::ssize_t i = 0; i < allowed.shape(0); ++i)
               if (data[i]) bits.set(static_cast<std::size_t>(i));
             return bits;
           }),
           py::arg("allowed"))
      .def("__len__", &ix::bitset::size)
      .def("count", &ix::bitset::count);

  py::class_<ix::vector_index>(m, "VectorIndex", "Vectors by slot with exact and HNSW search.")
      .def(py::init([](std::size_t dim, const std::string& metric, std::size_t m, std::size_t ef_construction,
                       std::size_t ef_search, std::size_t seed, std::size_t min_graph_size, const std::string& dtype,
                       bool rescore) {
             ix::hnsw_params params{m, ef_construction, ef_search, seed, min_graph_size};
             return std::make_unique<ix::vector_index>(dim, parse_metric(metric), params, parse_row_type(dtype),
                                                       rescore);
           }),
           py::kw_only(), py::arg("dim"), py::arg("metric"), py::arg("m") = hnsw.m,
           py::arg("ef_construction") = hnsw.ef_construction, py::arg("ef_search") = hnsw.ef_search,
           py::arg("seed") = hnsw.seed, py::arg("min_graph_size") = hnsw.min_graph_size, py::arg("dtype") = "f32",
           py::arg("rescore") = false)
      .def_property_readonly("rescore", &ix::vector_index::rescores,
                             "Whether searches rescore candidates with float32 rows kept on disk.")
      .def_property_readonly("dim", &ix::vector_index::dim)
      .def_property_readonly(
          "dtype", [](const ix::vector_index& v) { return row_type_name(v.type()); },
          "How vectors are stored: 'f32', 'f16' or 'int8' (per-dimension scale).")
      .def_property_readonly("metric", [](const ix::vector_index& v) { return metric_name(v.kind()); })
      .def_property_readonly("has_graph", &ix::vector_index::has_graph)
      .def_property_readonly("slot_count", &ix::vector_index::slot_count)
      .def("__len__", &ix::vector_index::size)
      .def(
          "memory",
          [](const ix::vector_index& index) {
            const ix::memory_usage m = index.memory();
            py::dict out;
            out["vectors"] = m.vectors;
            out["norms"] = m.norms;
            out["slot_map"] = m.slot_map;
            out["graph"] = m.graph;
            out["mapped"] = m.mapped;
            return out;
          },
          "Bytes held by part: vectors (the only copy), norms, slot_map, graph (links and hnswlib's bookkeeping), "
          "mapped (rows and graph base layer read in place from the files of a mapped load).")
      .def(
          "put",
          [](ix::vector_index& index, const py::handle& vectors, const py::handle& slots, int threads) {
            auto v = matrix(vectors, index.dim(), "vectors");
            auto s = slots_of(slots, static_cast<std::size_t>(v.shape(0)), "slots");
            if (threads < 0) throw py::value_error("threads must be >= 0");
            py::gil_scoped_release nogil;
            index.put(v.data(), s.data(), static_cast<std::size_t>(s.shape(0)), threads);
          },
          py::arg("vectors"), py::arg("slots"), py::kw_only(), py::arg("threads") = 0)
      .def(
          "remove",
          [](ix::vector_index& index, const py::handle& slots) {
            auto s = slots_of(slots, static_cast<std::size_t>(-1), "slots");
            py::gil_scoped_release nogil;
            index.remove(s.data(), static_cast<std::size_t>(s.shape(0)));
          },
          py::arg("slots"))
      .def(
          "get",
          [](const ix::vector_index& index, const py::handle& slots) {
            auto s = slots_of(slots, static_cast<std::size_t>(-1), "slots");
            py::array_t<float> out({static_cast<py::ssize_t>(s.shape(0)), static_cast<py::ssize_t>(index.dim())});
            float* target = out.mutable_data();
            {
              py::gil_scoped_release nogil;
              index.get(s.data(), static_cast<std::size_t>(s.shape(0)), target);
            }
            return out;
          },
          py::arg("slots"))
      .def(
          "search",
          [](const ix::vector_index& index, const py::handle& queries, std::size_t k, const ix::bitset* filter,
             const std::string& mode, std::size_t ef, int threads) {
            auto q = matrix(queries, index.dim(), "queries");
            const auto parsed = parse_mode(mode);
            if (threads < 0) throw py::value_error("threads must be >= 0");
            ix::search_results r;
            {
              py::gil_scoped_release nogil;
              r = index.search(q.data(), static_cast<std::size_t>(q.shape(0)), k, filter, parsed, ef, threads);
            }
            return to_python(std::move(r));
          },
          py::arg("queries"), py::arg("k"), py::kw_only(), py::arg("filter") = nullptr, py::arg("mode") = "auto",
          py::arg("ef") = 0, py::arg("threads") = 0)
      .def(
          "build_graph",
          [](ix::vector_index& index, int threads) {
            py::gil_scoped_release nogil;
            index.build_graph(threads);
          },
          py::kw_only(), py::arg("threads") = 0)
      .def(
          "save",
          [](const ix::vector_index& index, const std::string& vectors_path, const std::string& graph_path,
             const std::string& exact_path) {
            py::gil_scoped_release nogil;
            index.save(vectors_path, graph_path, exact_path);
          },
          py::arg("vectors_path"), py::arg("graph_path"), py::arg("exact_path") = "")
      .def_static(
          "load",
          [](const std::string& vectors_path, const std::string& graph_path, std::size_t m, std::size_t ef_construction,
             std::size_t ef_search, std::size_t seed, std::size_t min_graph_size, bool mmap,
             const std::string& exact_path) {
            ix::hnsw_params params{m, ef_construction, ef_search, seed, min_graph_size};
            try {
              py::gil_scoped_release nogil;
              return ix::vector_index::load(vectors_path, graph_path, params, mmap, exact_path);
            } catch (const std::system_error&) {
              throw;  // I/O: OSError, from module.cpp's translator
            } catch (const std::runtime_error& e) {
              throw py::value_error(e.what());  // a bad file (format_error, or hnswlib's own) is bad input
            }
          },
          py::arg("vectors_path"), py::arg("graph_path"), py::kw_only(), py::arg("m") = hnsw.m,
          py::arg("ef_construction") = hnsw.ef_construction, py::arg("ef_search") = hnsw.ef_search,
          py::arg("seed") = hnsw.seed, py::arg("min_graph_size") = hnsw.min_graph_size, py::arg("mmap") = false,
          py::arg("exact_path") = "",
          "Load saved vectors and graph; mmap=True leaves the rows and the graph's base layer in the files, "
          "mapped copy-on-write (the graph's structure is still checked in full; the values are covered by "
          "the snapshot's checksums, on demand).");

  py::class_<ix::bm25_index>(m, "BM25Index", "BM25 (Lucene variant) over slots.")
      .def(py::init([](float k1, float b, std::vector<std::string> stopwords) {
             return std::make_unique<ix::bm25_index>(ix::bm25_params{k1, b}, std::move(stopwords));
           }),
           py::kw_only(), py::arg("k1") = bm25.k1, py::arg("b") = bm25.b,
           py::arg("stopwords") = std::vector<std::string>{})
      .def_property_readonly("k1", [](const ix::bm25_index& i) { return i.params().k1; })
      .def_property_readonly("b", [](const ix::bm25_index& i) { return i.params().b; })
      .def_property_readonly("vocabulary_size", &ix::bm25_index::vocabulary_size)
      .def("__len__", &ix::bm25_index::size)
      .def("tokenize", &ix::bm25_index::tokenize, py::arg("text"))
      .def("memory", &ix::bm25_index::memory_bytes, "Bytes held (vocabulary, postings, per-document terms).")
      .def(
          "put",
          [](ix::bm25_index& index, const std::vector<std::string>& texts, const py::handle& slots, int threads) {
            auto s = slots_of(slots, texts.size(), "slots");
            const auto views = views_of(texts);
            py::gil_scoped_release nogil;
            index.put(views, s.data(), threads);
          },
          py::arg("texts"), py::arg("slots"), py::kw_only(), py::arg("threads") = 0)
      .def(
          "put_tokens",
          [](ix::bm25_index& index, const std::vector<std::vector<std::string>>& documents, const py::handle& slots) {
            auto s = slots_of(slots, documents.size(), "slots");
            py::gil_scoped_release nogil;
            index.put_tokens(documents, s.data());
          },
          py::arg("documents"), py::arg("slots"))
      .def(
          "remove",
          [](ix::bm25_index& index, const py::handle& slots) {
            auto s = slots_of(slots, static_cast<std::size_t>(-1), "slots");
            py::gil_scoped_release nogil;
            index.remove(s.data(), static_cast<std::size_t>(s.shape(0)));
          },
          py::arg("slots"))
      .def(
          "search",
          [](const ix::bm25_index& index, const std::vector<std::string>& queries, std::size_t k,
             const ix::bitset* filter, int threads) {
            const auto views = views_of(queries);
            ix::search_results r;
            {
              py::gil_scoped_release nogil;
              r = index.search(views, k, filter, threads);
            }
            return to_python(std::move(r));
          },
          py::arg("queries"), py::arg("k"), py::kw_only(), py::arg("filter") = nullptr, py::arg("threads") = 0)
      .def(
          "statistics",
          [](const ix::bm25_index& index, const std::vector<std::string>& terms) {
            ix::corpus_statistics s;
            {
              py::gil_scoped_release nogil;
              s = index.statistics(terms);
            }
            return py::make_tuple(s.documents, s.total_length, s.document_frequency);
          },
          py::arg("terms"),
          "(live documents, their total length in tokens, {term: document frequency}) for the given terms.")
      .def(
          "search_tokens",
          [](const ix::bm25_index& index, const std::vector<std::vector<std::string>>& queries, std::size_t k,
             const ix::bitset* filter, int threads, const py::object& corpus) {
            ix::corpus_statistics stats;
            const bool given = !corpus.is_none();
            if (given) {
              const auto parts = corpus.cast<py::tuple>();
              if (parts.size() != 3)
                throw py::value_error("corpus must be (documents, total_length, {term: document frequency})");
              stats.documents = parts[0].cast<std::uint64_t>();
              stats.total_length = parts[1].cast<std::uint64_t>();
              stats.document_frequency = parts[2].cast<std::unordered_map<std::string, std::uint64_t>>();
            }
            ix::search_results r;
            {
              py::gil_scoped_release nogil;
              r = index.search_tokens(queries, k, filter, threads, given ? &stats : nullptr);
            }
            return to_python(std::move(r));
          },
          py::arg("queries"), py::arg("k"), py::kw_only(), py::arg("filter") = nullptr, py::arg("threads") = 0,
          py::arg("corpus") = py::none())
      .def(
          "save",
          [](const ix::bm25_index& index, const std::string& path) {
            py::gil_scoped_release nogil;
            index.save(path);
          },
          py::arg("path"))
      .def_static(
          "load",
          [](const std::string& path, std::size_t slot_limit) {
            try {
              py::gil_scoped_release nogil;
              return ix::bm25_index::load(path, slot_limit);
            } catch (const std::system_error&) {
              throw;  // I/O: OSError, from module.cpp's translator
            } catch (const std::runtime_error& e) {
              throw py::value_error(e.what());  // a bad file (format_error, or hnswlib's own) is bad input
            }
          },
          py::arg("path"), py::kw_only(), py::arg("slot_limit"));
}
