/// @file
/// @brief Fuzzes BM25's word tokeniser and a BM25 index over the tokens: every token is
///        non-empty valid UTF-8, and indexing then searching the same text finds it.

#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "ragtune/index/bm25.hpp"
#include "ragtune/text/utf8.hpp"
#include "ragtune/text/word_tokenizer.hpp"

using namespace ragtune;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text::first_invalid_utf8(text) != text.size()) return 0;
  std::vector<std::string> tokens;
  text::tokenize_words(text, tokens);
  for (const std::string& token : tokens) {
    RAGTUNE_FUZZ_CHECK(!token.empty());
    RAGTUNE_FUZZ_CHECK(text::first_invalid_utf8(token) == token.size());
  }
  index::bm25_index bm25;
  const std::vector<std::string_view> documents{text, "an unrelated second document"};
  const std::int64_t slots[] = {0, 1};
  bm25.put(documents, slots, 1);
  const auto found = bm25.search({text}, 2, nullptr, 1);
  if (!bm25.tokenize(text).empty()) RAGTUNE_FUZZ_CHECK(found.slots[0] == 0 || found.slots[1] == 0);
  return 0;
}
