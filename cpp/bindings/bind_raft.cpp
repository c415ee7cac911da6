// RAFT: example assembly and MinHash signatures. Arrays are checked for
// consistent lengths with the GIL held; assembly runs without it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "python_values.hpp"
#include "ragtune/raft/sampler.hpp"

namespace py = pybind11;
namespace rf = ragtune::raft;
using ragtune::bindings::to_numpy;

namespace {

template <class T>
using array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <class T>
array<T> vector_of(const py::handle& object, const char* what, std::optional<std::size_t> length = std::nullopt) {
  array<T> a = array<T>::ensure(object);
  if (!a || a.ndim() != 1) throw py::type_error(std::string(what) + " must be a 1-D array");
  if (length && static_cast<std::size_t>(a.shape(0)) != *length)
    throw py::value_error(std::string(what) + " has " + std::to_string(a.shape(0)) + " entries, expected " +
                          std::to_string(*length));
  return a;
}

// Compressed rows: offsets ascend from 0 to len(ids).
void check_rows(const array<std::int64_t>& offsets, const array<std::int64_t>& ids, const char* what) {
  const std::int64_t* o = offsets.data();
  if (offsets.shape(0) == 0 || o[0] != 0 || o[offsets.shape(0) - 1] != ids.shape(0))
    throw py::value_error(std::string(what) + " offsets must start at 0 and end at the number of ids");
  for (py::ssize_t i = 1; i < offsets.shape(0); ++i)
    if (o[i] < o[i - 1]) throw py::value_error(std::string(what) + " offsets must ascend");
}

rf::strategy parse_strategy(const std::string& name) {
  if (name == "random") return rf::strategy::random;
  if (name == "hard") return rf::strategy::hard;
  if (name == "mixed") return rf::strategy::mixed;
  throw py::value_error("strategy must be 'random', 'hard' or 'mixed', got '" + name + "'");
}

}  // namespace

void bind_raft(py::module_& m) {
  m.def(
      "raft_assemble",
      [](std::size_t chunk_count, const py::handle& oracle_offsets, const py::handle& oracle_ids,
         const py::handle& candidate_offsets, const py::handle& candidate_ids, const py::handle& groups,
         const py::handle& starts, const py::handle& ends, const py::handle& text_hashes, const py::handle& minhash,
         std::size_t distractors, double p, const std::string& strategy, double hard_fraction, std::uint64_t seed,
         double near_duplicate_jaccard, int threads, const py::handle& positions, std::size_t total) {
        if (threads < 0) throw py::value_error("threads must be >= 0");
        rf::sampler_options options{distractors,   p,    parse_strategy(strategy),
                                    hard_fraction, seed, near_duplicate_jaccard};
        auto offsets = vector_of<std::int64_t>(oracle_offsets, "oracle_offsets");
        auto ids = vector_of<std::int64_t>(oracle_ids, "oracle_ids");
        check_rows(offsets, ids, "oracle");
        rf::sampler_input input;
        input.chunk_count = chunk_count;
        input.item_count = static_cast<std::size_t>(offsets.shape(0) - 1);
        input.oracle_offsets = offsets.data();
        input.oracle_ids = ids.data();
        array<std::int64_t> c_offsets, c_ids, g, s, e;
        array<std::uint64_t> hashes;
        array<std::uint32_t> signatures;
        if (!candidate_offsets.is_none()) {
          c_offsets = vector_of<std::int64_t>(candidate_offsets, "candidate_offsets", input.item_count + 1);
          c_ids = vector_of<std::int64_t>(candidate_ids, "candidate_ids");
          check_rows(c_offsets, c_ids, "candidate");
          input.candidate_offsets = c_offsets.data();
          input.candidate_ids = c_ids.data();
        }
        if (!groups.is_none()) {
          g = vector_of<std::int64_t>(groups, "groups", chunk_count);
          s = vector_of<std::int64_t>(starts, "starts", chunk_count);
          e = vector_of<std::int64_t>(ends, "ends", chunk_count);
          input.groups = g.data();
          input.starts = s.data();
          input.ends = e.data();
        }
        if (!text_hashes.is_none()) {
          hashes = vector_of<std::uint64_t>(text_hashes, "text_hashes", chunk_count);
          input.text_hashes = hashes.data();
        }
        if (!minhash.is_none()) {
          signatures = array<std::uint32_t>::ensure(minhash);
          if (!signatures || signatures.ndim() != 2 || static_cast<std::size_t>(signatures.shape(0)) != chunk_count)
            throw py::value_error("minhash must have one row per chunk");
          input.minhash = signatures.data();
          input.minhash_size = static_cast<std::size_t>(signatures.shape(1));
        }
        array<std::int64_t> item_positions;
        if (!positions.is_none()) {
          item_positions = vector_of<std::int64_t>(positions, "positions", input.item_count);
          input.item_positions = item_positions.data();
          input.total_items = total;
        }
        rf::sampler_output out;
        {
          py::gil_scoped_release nogil;
          out = rf::assemble(input, options, threads);
        }
        py::dict result;
        result["document_offsets"] = to_numpy(std::move(out.document_offsets));
        result["documents"] = to_numpy(std::move(out.documents));
        result["oracle_position_offsets"] = to_numpy(std::move(out.oracle_position_offsets));
        result["oracle_positions"] = to_numpy(std::move(out.oracle_positions));
        result["kept_oracle"] = to_numpy(std::move(out.kept_oracle));
        result["hard_used"] = out.hard_used;
        result["random_used"] = out.random_used;
        result["near_duplicates_skipped"] = out.near_duplicates_skipped;
        result["repeated_texts_skipped"] = out.repeated_texts_skipped;
        return result;
      },
      py::arg("chunk_count"), py::arg("oracle_offsets"), py::arg("oracle_ids"), py::kw_only(),
      py::arg("candidate_offsets") = py::none(), py::arg("candidate_ids") = py::none(), py::arg("groups") = py::none(),
      py::arg("starts") = py::none(), py::arg("ends") = py::none(), py::arg("text_hashes") = py::none(),
      py::arg("minhash") = py::none(), py::arg("distractors") = 4, py::arg("p") = 0.8, py::arg("strategy") = "random",
      py::arg("hard_fraction") = 0.5, py::arg("seed") = 0, py::arg("near_duplicate_jaccard") = 0.8,
      py::arg("threads") = 0, py::arg("positions") = py::none(), py::arg("total") = 0,
      "Assemble RAFT examples (documents per question, oracle positions) from compressed-row arrays.");

  m.def(
      "minhash_signatures",
      [](const std::vector<std::string>& texts, std::size_t size, std::size_t shingle, int threads) {
        if (threads < 0) throw py::value_error("threads must be >= 0");
        const std::vector<std::string_view> views(texts.begin(), texts.end());
        std::vector<std::uint32_t> signatures;
        {
          py::gil_scoped_release nogil;
          signatures = rf::minhash_signatures(views, size, shingle, threads);
        }
        return to_numpy(std::move(signatures),
                        {static_cast<py::ssize_t>(texts.size()), static_cast<py::ssize_t>(size)});
      },
      py::arg("texts"), py::kw_only(), py::arg("size") = 64, py::arg("shingle") = 5, py::arg("threads") = 0,
      "MinHash signatures (n, size) over word shingles, for near-duplicate detection.");

  m.def(
      "text_hashes",
      [](const std::vector<std::string>& texts, int threads) {
        if (threads < 0) throw py::value_error("threads must be >= 0");
        const std::vector<std::string_view> views(texts.begin(), texts.end());
        std::vector<std::uint64_t> hashes;
        {
          py::gil_scoped_release nogil;
          hashes = rf::text_hashes(views, threads);
        }
        return to_numpy(std::move(hashes));
      },
      py::arg("texts"), py::kw_only(), py::arg("threads") = 0,
      "A hash per text of its whitespace-separated words, ASCII-lower-cased (normalise other text first).");
}
