/// @file
/// @brief Fuzzes the index loaders (vector file + graph file, BM25 file): a file that
///        loads must be searchable without reading out of bounds; anything else must
///        be refused with std::runtime_error.

#include <stdexcept>
#include <vector>

#include "fuzz_input.hpp"
#include "ragtune/index/bm25.hpp"
#include "ragtune/index/vector_index.hpp"

using namespace ragtune;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  const std::uint8_t which = in.byte();
  const std::size_t split = in.u16();
  const std::string first = in.take(split);
  const std::string second(in.rest());
  if (which & 1) {
    const fuzz::temp_file bm25_file(first);
    try {
      auto bm25 = index::bm25_index::load(bm25_file.path(), 1u << 16);
      auto results = bm25.get()->search({std::string_view("the quick brown fox"), second}, 3, nullptr, 1);
      for (auto slot : results.slots) RAGTUNE_FUZZ_CHECK(slot >= -1);
    } catch (const std::runtime_error&) {
    }
    return 0;
  }
  const fuzz::temp_file vectors(first), graph(second);
  try {
    auto loaded = index::vector_index::load(vectors.path(), (which & 2) ? graph.path() : std::string(), {});
    const std::vector<float> query(loaded->dim(), 0.5f);
    for (auto mode : {index::search_mode::exact, index::search_mode::automatic}) {
      auto results = loaded->search(query.data(), 1, 4, nullptr, mode, 16, 1);
      for (auto slot : results.slots) {
        RAGTUNE_FUZZ_CHECK(slot >= -1 && (slot < 0 || static_cast<std::size_t>(slot) < loaded->slot_count()));
      }
    }
  } catch (const std::runtime_error&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
