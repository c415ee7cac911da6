// RAFT text in bulk: quote checks of many answers, and records from columns. The records binding holds the Python
// strings (as tuples, so the UTF-8 views into them stay valid) and the index arrays, checks them once, and releases the
// GIL around encoding and writing.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "python_values.hpp"
#include "ragtune/raft/quotes.hpp"
#include "ragtune/raft/records.hpp"

namespace py = pybind11;
namespace rf = ragtune::raft;

namespace {

using index_array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// Views of the UTF-8 of each str in `values` (CPython keeps it with the object).
std::vector<std::string_view> utf8_views(const py::tuple& values, const char* what) {
  std::vector<std::string_view> out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out.push_back(ragtune::bindings::utf8_of(values[i], what, i));
  return out;
}

index_array indices(const py::handle& values, const char* what) {
  index_array a = index_array::ensure(values);
  if (!a || a.ndim() != 1) throw py::type_error(std::string(what) + " must be a 1-D integer array");
  return a;
}

// A private copy: the arrays are checked once, so the caller must not be able to change
// them afterwards (ensure() hands back the caller's own array when it is already int64).
index_array owned_indices(const py::handle& values, const char* what) {
  const index_array given = indices(values, what);
  return index_array(given.shape(0), given.data());
}

class records {
 public:
  records(const py::sequence& texts, const py::sequence& titles, const py::sequence& ids, const py::sequence& types,
          const py::sequence& questions, const py::sequence& cot_answers, const py::handle& document_offsets,
          const py::handle& documents, const py::handle& oracle_offsets, const py::handle& oracle_positions)
      : strings_{py::tuple(texts), py::tuple(titles),    py::tuple(ids),
                 py::tuple(types), py::tuple(questions), py::tuple(cot_answers)},
        document_offsets_(owned_indices(document_offsets, "document_offsets")),
        documents_(owned_indices(documents, "documents")),
        oracle_offsets_(owned_indices(oracle_offsets, "oracle_offsets")),
        oracle_positions_(owned_indices(oracle_positions, "oracle_positions")) {
    columns_.texts = utf8_views(strings_[0], "texts");
    columns_.titles = utf8_views(strings_[1], "titles");
    columns_.ids = utf8_views(strings_[2], "ids");
    columns_.types = utf8_views(strings_[3], "types");
    columns_.questions = utf8_views(strings_[4], "questions");
    columns_.cot_answers = utf8_views(strings_[5], "cot_answers");
    const auto rows = static_cast<py::ssize_t>(columns_.rows());
    if (document_offsets_.shape(0) != rows + 1 || oracle_offsets_.shape(0) != rows + 1)
      throw py::value_error("document_offsets and oracle_offsets need one entry per example plus one");
    if (document_offsets_.data()[rows] != documents_.shape(0) ||
        oracle_offsets_.data()[rows] != oracle_positions_.shape(0))
      throw py::value_error("the last offset must be the number of documents (or oracle positions)");
    columns_.document_offsets = document_offsets_.data();
    columns_.documents = documents_.data();
    columns_.oracle_offsets = oracle_offsets_.data();
    columns_.oracle_positions = oracle_positions_.data();
    rf::validate(columns_);
  }

  std::size_t rows() const { return columns_.rows(); }

  std::uint64_t write_jsonl(const std::string& format, const std::string& system_prompt, std::size_t first,
                            std::size_t last, int fd, std::uint64_t offset, const std::string& path, int threads) {
    const auto kind = rf::parse_record_format(format);
    if (fd < 0) throw py::value_error("fd must be an open file descriptor");
    py::gil_scoped_release nogil;
    // The pool is escaped once for all the calls that write one file in parts.
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_) pool_ = std::make_unique<rf::escaped_pool>(rf::escape_pool(columns_, threads));
    return rf::write_jsonl(columns_, *pool_, kind, system_prompt, first, last, fd, offset, path, threads);
  }

  py::bytes encode(const std::string& format, const std::string& system_prompt, std::size_t row) const {
    return py::bytes(rf::encode_record(columns_, rf::parse_record_format(format), system_prompt, row));
  }

  // (offsets int64, data uint8, valid bool): an Arrow string column's buffers, owned by numpy.
  py::tuple compose(const std::string& field, std::size_t first, std::size_t last, int threads) const {
    const auto kind = rf::parse_composed_field(field);
    auto* column = new rf::text_column();
    py::capsule owner(column, [](void* p) { delete static_cast<rf::text_column*>(p); });
    {
      py::gil_scoped_release nogil;
      *column = rf::compose(columns_, kind, first, last, threads);
    }
    auto offsets =
        py::array_t<std::int64_t>({static_cast<py::ssize_t>(column->offsets.size())}, column->offsets.data(), owner);
    auto data = py::array_t<std::uint8_t>({static_cast<py::ssize_t>(column->data.size())},
                                          reinterpret_cast<const std::uint8_t*>(column->data.data()), owner);
    auto valid =
        py::array_t<std::uint8_t>({static_cast<py::ssize_t>(column->valid.size())}, column->valid.data(), owner);
    return py::make_tuple(offsets, data, valid);
  }

 private:
  py::tuple strings_[6];
  index_array document_offsets_, documents_, oracle_offsets_, oracle_positions_;
  rf::record_columns columns_;
  std::mutex pool_mutex_;
  std::unique_ptr<rf::escaped_pool> pool_;
};

}  // namespace

void bind_raft_records(py::module_& m) {
  py::class_<records>(m, "RaftRecords",
                      "RAFT examples as columns (a pool of texts and titles; per example its id, type, question, "
                      "answer, document indices and oracle positions), encoded into the record formats.")
      .def(py::init<const py::sequence&, const py::sequence&, const py::sequence&, const py::sequence&,
                    const py::sequence&, const py::sequence&, const py::handle&, const py::handle&, const py::handle&,
                    const py::handle&>(),
           py::arg("texts"), py::arg("titles"), py::arg("ids"), py::arg("types"), py::arg("questions"),
           py::arg("cot_answers"), py::arg("document_offsets"), py::arg("documents"), py::arg("oracle_offsets"),
           py::arg("oracle_positions"))
      .def("__len__", &records::rows)
      .def("write_jsonl", &records::write_jsonl, py::arg("format"), py::kw_only(), py::arg("system_prompt") = "",
           py::arg("first"), py::arg("last"), py::arg("fd"), py::arg("offset"), py::arg("path"), py::arg("threads") = 0,
           "Write rows [first, last) as JSON Lines at byte `offset` of `fd`; returns bytes.")
      .def("encode", &records::encode, py::arg("format"), py::kw_only(), py::arg("system_prompt") = "", py::arg("row"),
           "One row's JSON line (UTF-8 bytes, newline included).")
      .def("compose", &records::compose, py::arg("field"), py::kw_only(), py::arg("first"), py::arg("last"),
           py::arg("threads") = 0,
           "A composed text field of rows [first, last) as (offsets, utf-8 data, valid) numpy arrays.");

  m.def(
      "check_quotes",
      [](const py::sequence& answers, const py::sequence& pool, const py::handle& oracle_offsets,
         const py::handle& oracle_ids, bool normalise_whitespace, int threads) {
        const py::tuple answer_strings(answers), pool_strings(pool);
        const auto answer_views = utf8_views(answer_strings, "answers");
        const auto pool_views = utf8_views(pool_strings, "oracles");
        const auto offsets = indices(oracle_offsets, "oracle_offsets");
        const auto ids = indices(oracle_ids, "oracle_ids");
        if (offsets.shape(0) != static_cast<py::ssize_t>(answer_views.size()) + 1 ||
            offsets.data()[offsets.shape(0) - 1] != ids.shape(0))
          throw py::value_error("oracle_offsets needs one entry per answer plus one, ending at len(oracle_ids)");
        if (threads < 0) throw py::value_error("threads must be >= 0");
        rf::quote_report report;
        {
          py::gil_scoped_release nogil;
          report =
              rf::check_quotes(answer_views, pool_views, offsets.data(), ids.data(), normalise_whitespace, threads);
        }
        py::dict out;
        out["quote_offsets"] = ragtune::bindings::to_numpy(std::move(report.quote_offsets));
        out["quote_starts"] = ragtune::bindings::to_numpy(std::move(report.quote_starts));
        out["quote_ends"] = ragtune::bindings::to_numpy(std::move(report.quote_ends));
        out["quote_found"] = ragtune::bindings::to_numpy(std::move(report.quote_found));
        out["has_answer"] = ragtune::bindings::to_numpy(std::move(report.has_answer));
        out["unbalanced"] = ragtune::bindings::to_numpy(std::move(report.unbalanced));
        return out;
      },
      py::arg("answers"), py::arg("oracles"), py::arg("oracle_offsets"), py::arg("oracle_ids"), py::kw_only(),
      py::arg("normalise_whitespace") = false, py::arg("threads") = 0,
      "RAFT answers' quotes (UTF-8 byte spans) and whether each occurs in the answer's oracles.");
}
