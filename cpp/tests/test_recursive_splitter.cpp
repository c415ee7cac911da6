// Recursive splitting against outputs produced by LangChain 1.1.3 itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ragtune/text/offset_map.hpp"
#include "ragtune/text/recursive_splitter.hpp"

namespace text = ragtune::text;

namespace {

std::vector<std::string> split(const std::string& input, text::recursive_options options) {
  const text::recursive_splitter splitter(std::move(options));
  const auto result = splitter.split(input);
  std::vector<std::string> out;
  for (const auto& chunk : result.chunks)
    out.push_back(chunk.text_index < 0 ? input.substr(chunk.begin, chunk.end - chunk.begin)
                                       : result.texts[static_cast<std::size_t>(chunk.text_index)]);
  return out;
}

text::recursive_options sized(std::size_t size, std::size_t overlap) {
  text::recursive_options options;
  options.chunk_size = size;
  options.chunk_overlap = overlap;
  return options;
}

TEST(recursive_splitter, matches_langchain_on_its_own_example) {
  const std::string input =
      "Hi.\n\nI'm Harrison.\n\nHow? Are? You?\nOkay then f f f f.\nThis is a weird text to write, but gotta test "
      "the splittingggg some how.\n\nBye!\n\n-H.";
  const std::vector<std::string> expected{"Hi.",      "I'm",       "Harrison.", "How? Are?", "You?",   "Okay then",
                                          "f f f f.", "This is a", "weird",     "text to",   "write,", "but gotta",
                                          "test the", "splitting", "gggg",      "some how.", "Bye!",   "-H."};
  EXPECT_EQ(split(input, sized(10, 1)), expected);
}

TEST(recursive_splitter, counts_code_points_not_bytes) {
  const std::vector<std::string> expected{"h\xc3\xa9llo", "w\xc3\xb6rl", "rld",
                                          "\xc3\xbcn\xc3\xaf"
                                          "c",
                                          "\xc3\xaf"
                                          "code"};
  EXPECT_EQ(split("h\xc3\xa9llo w\xc3\xb6rld \xc3\xbcn\xc3\xaf"
                  "code",
                  sized(5, 2)),
            expected);
}

TEST(recursive_splitter, regex_separator_without_keep_joins_with_match_or_pattern) {
  auto options = sized(4, 0);
  options.separators = {"x+"};
  options.is_separator_regex = true;
  options.keep = text::keep_separator::none;
  EXPECT_EQ(split("aaxbbxxxcc", options), (std::vector<std::string>{"aa", "bb", "cc"}));
}

TEST(recursive_splitter, offsets_point_into_the_original_text) {
  const std::string input = "same words\n\nsame words\n\nsame words";
  const text::recursive_splitter splitter(sized(12, 0));
  const auto result = splitter.split(input);
  ASSERT_EQ(result.chunks.size(), 3u);
  EXPECT_EQ(result.chunks[0].begin, 0u);
  EXPECT_EQ(result.chunks[1].begin, 12u);
  EXPECT_EQ(result.chunks[2].begin, 24u);
}

TEST(recursive_splitter, rejects_bad_sizes_and_patterns) {
  EXPECT_THROW(text::recursive_splitter(sized(0, 0)), std::invalid_argument);
  EXPECT_THROW(text::recursive_splitter(sized(10, 11)), std::invalid_argument);
  auto options = sized(10, 0);
  options.separators = {"("};
  options.is_separator_regex = true;
  EXPECT_THROW(text::recursive_splitter(std::move(options)), text::pattern_error);
}

TEST(offset_map, converts_bytes_to_code_points_and_lines) {
  std::string input;
  for (int i = 0; i < 3000; ++i) input += "\xc3\xa9\n";  // crosses several 4 KiB checkpoints
  const text::offset_map map(input);
  EXPECT_EQ(map.codepoint(3 * 2500), 2u * 2500);
  EXPECT_EQ(map.line(3 * 2500), 2500u);
  EXPECT_EQ(map.byte(2u * 2500 + 1), 3u * 2500 + 2);
}

}  // namespace
