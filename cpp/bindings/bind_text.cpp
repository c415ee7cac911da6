// Chunking: the recursive splitter over Python str objects. Text goes in as the
// str's cached UTF-8; chunks come back as a (n, 6) int64 array of offsets and,
// when asked, the chunk strings (sliced from the original str, not re-decoded).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "chunk_type.hpp"
#include "python_values.hpp"
#include "ragtune/text/offset_map.hpp"
#include "ragtune/text/recursive_splitter.hpp"
#include "ragtune/util/parallel.hpp"

namespace py = pybind11;
namespace text = ragtune::text;

namespace {

constexpr py::ssize_t row_width = 6;  // start, end, byte_start, byte_end, line_start, line_end

text::keep_separator parse_keep(const std::string& keep) {
  if (keep == "none") return text::keep_separator::none;
  if (keep == "start") return text::keep_separator::start;
  if (keep == "end") return text::keep_separator::end;
  throw py::value_error("keep must be 'none', 'start' or 'end', got '" + keep + "'");
}

struct document {
  std::string_view utf8;
  std::vector<std::size_t> token_starts;  // bytes; filled from code points inside the parallel work
  py::array_t<std::int64_t> token_codepoints;
  text::split_result result;
  std::vector<std::int64_t> rows;
};

// Converts the document's token start offsets (code points, ascending) to bytes.
void prepare_tokens(document& doc, const text::offset_map& map) {
  if (!doc.token_codepoints) return;
  const std::int64_t* cps = doc.token_codepoints.data();
  const std::size_t n = static_cast<std::size_t>(doc.token_codepoints.size());
  const std::size_t limit = map.codepoint(doc.utf8.size());
  doc.token_starts.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (cps[i] < 0 || static_cast<std::size_t>(cps[i]) > limit || (i > 0 && cps[i] < cps[i - 1]))
      throw std::invalid_argument(
          "token start offsets must be ascending code-point offsets within the text; "
          "offset #" +
          std::to_string(i) + " is " + std::to_string(cps[i]));
    doc.token_starts[i] = map.byte(static_cast<std::size_t>(cps[i]));
  }
}

void split_document(const text::recursive_splitter& splitter, document& doc, const text::length_spec& base,
                    bool with_lines) {
  text::length_spec spec = base;
  std::optional<text::offset_map> offsets;  // one map per document: token offsets need it before splitting
  if (spec.mode == text::length_spec::kind::tokens) {
    offsets.emplace(doc.utf8);
    prepare_tokens(doc, *offsets);
    spec.token_starts = doc.token_starts.data();
    spec.token_count = doc.token_starts.size();
  }
  doc.result = splitter.split(doc.utf8, spec);
  if (!offsets) offsets.emplace(doc.utf8, doc.result.ascii);
  const text::offset_map& map = *offsets;
  doc.rows.resize(doc.result.chunks.size() * row_width);
  std::int64_t* row = doc.rows.data();
  for (const auto& chunk : doc.result.chunks) {
    row[0] = static_cast<std::int64_t>(map.codepoint(chunk.begin));
    row[1] = static_cast<std::int64_t>(map.codepoint(chunk.end));
    row[2] = static_cast<std::int64_t>(chunk.begin);
    row[3] = static_cast<std::int64_t>(chunk.end);
    if (with_lines) {
      row[4] = static_cast<std::int64_t>(map.line(chunk.begin)) + 1;
      row[5] = static_cast<std::int64_t>(map.line(chunk.end > chunk.begin ? chunk.end - 1 : chunk.begin)) + 1;
    } else {
      row[4] = row[5] = 0;  // not asked for: callers that only need text skip the newline count
    }
    row += row_width;
  }
}

text::length_spec token_spec(const std::optional<std::vector<std::size_t>>& separator_lengths);

// The text of chunk `i` of a document as a new str; needs the GIL.
PyObject* chunk_text(const document& doc, const py::handle& original, std::size_t i) {
  const auto& chunk = doc.result.chunks[i];
  PyObject* item = nullptr;
  if (chunk.text_index < 0) {
    // Slicing the original str copies code units; no UTF-8 decoding.
    const std::int64_t* row = doc.rows.data() + i * row_width;
    item = PyUnicode_Substring(original.ptr(), row[0], row[1]);
  } else {
    const std::string& joined = doc.result.texts[static_cast<std::size_t>(chunk.text_index)];
    item = PyUnicode_DecodeUTF8(joined.data(), static_cast<Py_ssize_t>(joined.size()), "strict");
  }
  if (item == nullptr) throw py::error_already_set();
  return item;
}

// The chunk strings of one document, appended to `texts` from position `at`; needs the GIL.
void add_texts(const document& doc, const py::handle& original, PyObject* texts, py::ssize_t at) {
  for (std::size_t i = 0; i < doc.result.chunks.size(); ++i)
    PyList_SET_ITEM(texts, at + static_cast<py::ssize_t>(i), chunk_text(doc, original, i));
}

// One list of Chunk objects per document; needs the GIL.
py::list chunks_to_python(const std::vector<document>& docs, const std::vector<py::handle>& originals,
                          const std::vector<py::object>& sources) {
  py::list out(docs.size());
  for (std::size_t d = 0; d < docs.size(); ++d) {
    const document& doc = docs[d];
    py::list chunks(doc.result.chunks.size());
    for (std::size_t i = 0; i < doc.result.chunks.size(); ++i) {
      py::object text = py::reinterpret_steal<py::object>(chunk_text(doc, originals[d], i));
      const std::int64_t* row = doc.rows.data() + i * row_width;
      const ragtune::bindings::chunk_fields fields{
          row[0], row[1], row[2], row[3], row[4], row[5], static_cast<std::int64_t>(i)};
      PyObject* chunk = ragtune::bindings::new_chunk(text.ptr(), fields, sources[d].ptr());
      if (chunk == nullptr) throw py::error_already_set();
      PyList_SET_ITEM(chunks.ptr(), static_cast<py::ssize_t>(i), chunk);
    }
    out[d] = std::move(chunks);
  }
  return out;
}

// Reads documents (and optional token offsets) with the GIL, splits them in
// parallel without it.
std::vector<document> split_in_parallel(
    const text::recursive_splitter& splitter, const py::list& originals, std::vector<py::handle>& handles,
    const std::optional<std::vector<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>>&
        token_starts,
    const std::optional<std::vector<std::size_t>>& separator_lengths, int threads, bool with_lines) {
  const std::size_t n = originals.size();
  std::vector<document> docs(n);
  handles.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    handles[i] = originals[i];
    docs[i].utf8 = ragtune::bindings::utf8_of(handles[i], "texts", i);
  }
  text::length_spec spec;
  if (token_starts) {
    if (token_starts->size() != n)
      throw py::value_error("token_starts has " + std::to_string(token_starts->size()) + " arrays for " +
                            std::to_string(n) + " texts");
    for (std::size_t i = 0; i < n; ++i) docs[i].token_codepoints = (*token_starts)[i];
    spec = token_spec(separator_lengths);
  }
  py::gil_scoped_release nogil;
  ragtune::util::parallel_for_each(n, threads,
                                   [&](std::size_t i) { split_document(splitter, docs[i], spec, with_lines); });
  return docs;
}

// (offsets (N, 6), bounds (documents + 1), texts or None) for all documents at once:
// a few large objects rather than several per document keeps Python's allocator
// and garbage collector out of the way.
py::tuple flat_to_python(const std::vector<document>& docs, const std::vector<py::handle>& originals, bool with_texts) {
  py::array_t<std::int64_t> bounds(static_cast<py::ssize_t>(docs.size() + 1));
  std::int64_t* bound = bounds.mutable_data();
  bound[0] = 0;
  for (std::size_t d = 0; d < docs.size(); ++d)
    bound[d + 1] = bound[d] + static_cast<std::int64_t>(docs[d].result.chunks.size());
  const py::ssize_t total = bound[docs.size()];
  py::array_t<std::int64_t> offsets({total, row_width});
  std::int64_t* out = offsets.mutable_data();
  for (const auto& doc : docs) out = std::copy(doc.rows.begin(), doc.rows.end(), out);
  if (!with_texts) return py::make_tuple(offsets, bounds, py::none());
  py::list texts(total);
  for (std::size_t d = 0; d < docs.size(); ++d) add_texts(docs[d], originals[d], texts.ptr(), bound[d]);
  return py::make_tuple(offsets, bounds, texts);
}

text::length_spec token_spec(const std::optional<std::vector<std::size_t>>& separator_lengths) {
  text::length_spec spec;
  spec.mode = text::length_spec::kind::tokens;
  if (separator_lengths) spec.separator_lengths = *separator_lengths;
  return spec;
}

}  // namespace

void bind_text(py::module_& m) {
  m.def(
      "locate_spans",
      [](const py::object& original, py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> starts,
         py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> ends) {
        // Rows (start, end, byte_start, byte_end, line_start, line_end) for code-point spans.
        const std::string_view utf8 = ragtune::bindings::utf8_of(original, "texts", 0);
        if (starts.ndim() != 1 || ends.ndim() != 1 || starts.size() != ends.size())
          throw py::value_error("starts and ends must be 1-D arrays of equal length");
        const auto n = static_cast<std::size_t>(starts.size());
        std::vector<std::int64_t> rows(n * row_width);
        {
          py::gil_scoped_release nogil;
          const text::offset_map map(utf8);
          const std::int64_t limit = static_cast<std::int64_t>(map.codepoint(utf8.size()));
          for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t a = starts.data()[i];
            const std::int64_t b = ends.data()[i];
            if (a < 0 || b < a || b > limit)
              throw std::invalid_argument("span #" + std::to_string(i) + " (" + std::to_string(a) + ", " +
                                          std::to_string(b) + ") is not inside the text of length " +
                                          std::to_string(limit));
            const std::size_t byte_a = map.byte(static_cast<std::size_t>(a));
            const std::size_t byte_b = map.byte(static_cast<std::size_t>(b));
            std::int64_t* row = rows.data() + i * row_width;
            row[0] = a;
            row[1] = b;
            row[2] = static_cast<std::int64_t>(byte_a);
            row[3] = static_cast<std::int64_t>(byte_b);
            row[4] = static_cast<std::int64_t>(map.line(byte_a)) + 1;
            row[5] = static_cast<std::int64_t>(map.line(byte_b > byte_a ? byte_b - 1 : byte_a)) + 1;
          }
        }
        py::array_t<std::int64_t> out({static_cast<py::ssize_t>(n), row_width});
        if (n > 0) std::copy(rows.begin(), rows.end(), out.mutable_data());
        return out;
      },
      py::arg("text"), py::arg("starts"), py::arg("ends"),
      "Offsets, UTF-8 byte offsets and 1-based lines of code-point spans of a text.");

  py::class_<text::recursive_splitter>(m, "RecursiveSplitter",
                                       "LangChain's recursive character splitting over UTF-8 byte spans.")
      .def(py::init([](std::size_t chunk_size, std::size_t chunk_overlap, std::vector<std::string> separators,
                       const std::string& keep, bool is_separator_regex, bool strip_whitespace, bool langchain_text) {
             text::recursive_options options;
             options.chunk_size = chunk_size;
             options.chunk_overlap = chunk_overlap;
             options.separators = std::move(separators);
             options.keep = parse_keep(keep);
             options.is_separator_regex = is_separator_regex;
             options.strip_whitespace = strip_whitespace;
             options.langchain_text = langchain_text;
             return text::recursive_splitter(std::move(options));
           }),
           py::kw_only(), py::arg("chunk_size"), py::arg("chunk_overlap"), py::arg("separators"), py::arg("keep"),
           py::arg("is_separator_regex"), py::arg("strip_whitespace"), py::arg("langchain_text"))
      .def(
          "split",
          [](const text::recursive_splitter& splitter, const py::object& original,
             std::optional<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>> token_starts,
             std::optional<std::vector<std::size_t>> separator_lengths, std::optional<py::function> length_function,
             bool with_texts, bool with_lines) {
            std::vector<document> docs(1);
            document& doc = docs[0];
            doc.utf8 = ragtune::bindings::utf8_of(original, "texts", 0);
            if (length_function) {
              // A Python length function runs with the GIL held, piece by piece, as LangChain does.
              text::length_spec spec;
              spec.mode = text::length_spec::kind::callback;
              py::function fn = *length_function;
              spec.callback = [fn](std::string_view piece) -> std::size_t {
                py::object value = fn(py::str(piece.data(), piece.size()));
                const auto length = value.cast<long long>();
                if (length < 0) throw py::value_error("length_function returned a negative length");
                return static_cast<std::size_t>(length);
              };
              split_document(splitter, doc, spec, with_lines);
            } else {
              text::length_spec spec;
              if (token_starts) {
                doc.token_codepoints = *token_starts;
                spec = token_spec(separator_lengths);
              }
              py::gil_scoped_release nogil;
              split_document(splitter, doc, spec, with_lines);
            }
            py::tuple flat = flat_to_python(docs, {original}, with_texts);
            return py::make_tuple(flat[0], flat[2]);
          },
          py::arg("text"), py::kw_only(), py::arg("token_starts") = py::none(),
          py::arg("separator_lengths") = py::none(), py::arg("length_function") = py::none(),
          py::arg("with_texts") = true, py::arg("with_lines") = true)
      .def(
          "split_many",
          [](const text::recursive_splitter& splitter, const py::list& originals,
             std::optional<std::vector<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>>
                 token_starts,
             std::optional<std::vector<std::size_t>> separator_lengths, int threads, bool with_texts, bool with_lines) {
            std::vector<py::handle> handles;
            const auto docs =
                split_in_parallel(splitter, originals, handles, token_starts, separator_lengths, threads, with_lines);
            return flat_to_python(docs, handles, with_texts);
          },
          py::arg("texts"), py::kw_only(), py::arg("token_starts") = py::none(),
          py::arg("separator_lengths") = py::none(), py::arg("threads") = 0, py::arg("with_texts") = true,
          py::arg("with_lines") = true)
      .def(
          "split_chunks",
          [](const text::recursive_splitter& splitter, const py::list& originals, const py::list& sources,
             std::optional<std::vector<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>>
                 token_starts,
             std::optional<std::vector<std::size_t>> separator_lengths, int threads) {
            if (sources.size() != originals.size())
              throw py::value_error("sources has " + std::to_string(sources.size()) + " entries for " +
                                    std::to_string(originals.size()) + " texts");
            std::vector<py::object> source_objects;
            for (const auto& source : sources) {
              if (!source.is_none() && !PyUnicode_Check(source.ptr()))
                throw py::type_error("each source must be str or None");
              source_objects.push_back(py::reinterpret_borrow<py::object>(source));
            }
            std::vector<py::handle> handles;
            const auto docs =
                split_in_parallel(splitter, originals, handles, token_starts, separator_lengths, threads, true);
            return chunks_to_python(docs, handles, source_objects);
          },
          py::arg("texts"), py::arg("sources"), py::kw_only(), py::arg("token_starts") = py::none(),
          py::arg("separator_lengths") = py::none(), py::arg("threads") = 0);
}
