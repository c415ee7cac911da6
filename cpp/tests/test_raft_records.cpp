// RAFT records encoded from columns, and quote checks of many answers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "ragtune/raft/quotes.hpp"
#include "ragtune/raft/records.hpp"

namespace rf = ragtune::raft;

namespace {

struct two_examples {
  std::vector<std::int64_t> document_offsets{0, 2, 3}, documents{0, 1, 1}, oracle_offsets{0, 1, 1}, oracle_positions{1};
  rf::record_columns columns;

  two_examples() {
    columns.texts = {"Tea \"is\"\nbrewed.", "Coffee\tis roasted."};
    columns.titles = {"tea.rst", "coffee.rst"};
    columns.ids = {"q0", "q1"};
    columns.types = {"general", "general"};
    columns.questions = {"How is coffee made?", "Why?"};
    columns.cot_answers = {"##begin_quote##roasted##end_quote## <ANSWER>: \xE3\x80\x80roasted ", "no marker"};
    columns.document_offsets = document_offsets.data();
    columns.documents = documents.data();
    columns.oracle_offsets = oracle_offsets.data();
    columns.oracle_positions = oracle_positions.data();
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

TEST(RaftRecords, EncodeEachFormatAsPythonJsonDumpsDoes) {
  two_examples e;
  rf::validate(e.columns);
  EXPECT_EQ(rf::encode_record(e.columns, rf::record_format::hf, "", 0),
            "{\"id\": \"q0\", \"type\": \"general\", \"question\": \"How is coffee made?\", \"context\": {\"title\": "
            "[[\"tea.rst\", \"coffee.rst\"]], \"sentences\": [[\"Tea \\\"is\\\"\\nbrewed.\", \"Coffee\\tis "
            "roasted.\"]]}, \"oracle_context\": \"Coffee\\tis roasted.\", \"cot_answer\": "
            "\"##begin_quote##roasted##end_quote## <ANSWER>: \xE3\x80\x80roasted \", \"instruction\": "
            "\"<DOCUMENT>Tea \\\"is\\\"\\nbrewed.</DOCUMENT>\\n<DOCUMENT>Coffee\\tis roasted.</DOCUMENT>\\nHow is "
            "coffee made?\"}\n");
  EXPECT_EQ(rf::encode_record(e.columns, rf::record_format::eval, "", 0),
            "{\"question\": \"How is coffee made?\", \"gold_final_answer\": \"roasted\", \"context\": "
            "\"<DOCUMENT>Tea \\\"is\\\"\\nbrewed.</DOCUMENT>\\n<DOCUMENT>Coffee\\tis roasted.</DOCUMENT>\"}\n");
  EXPECT_EQ(rf::encode_record(e.columns, rf::record_format::eval, "", 1),
            "{\"question\": \"Why?\", \"gold_final_answer\": null, \"context\": \"<DOCUMENT>Coffee\\tis "
            "roasted.</DOCUMENT>\"}\n");
  EXPECT_EQ(rf::encode_record(e.columns, rf::record_format::chat, "Be \x01 brief", 1),
            "{\"messages\": [{\"role\": \"system\", \"content\": \"Be \\u0001 brief\"}, {\"role\": \"user\", "
            "\"content\": \"<DOCUMENT>Coffee\\tis roasted.</DOCUMENT>\\nWhy?\"}, {\"role\": \"assistant\", "
            "\"content\": \"no marker\"}]}\n");
  EXPECT_EQ(rf::encode_record(e.columns, rf::record_format::completion, "", 1),
            "{\"prompt\": \"<DOCUMENT>Coffee\\tis roasted.</DOCUMENT>\\nWhy?\", \"completion\": \"no marker\"}\n");
}

TEST(RaftRecords, ParallelWritesGiveTheSameFileAsOneThread) {
  two_examples base;
  // 1,000 rows reusing the two examples' documents: several windows and blocks.
  std::vector<std::int64_t> document_offsets{0}, documents, oracle_offsets{0}, oracle_positions;
  rf::record_columns columns = base.columns;
  columns.ids.clear();
  columns.types.clear();
  columns.questions.clear();
  columns.cot_answers.clear();
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    documents.push_back(i % 2);
    if (i % 3) documents.push_back(1 - i % 2);
    document_offsets.push_back(static_cast<std::int64_t>(documents.size()));
    oracle_positions.push_back(0);
    oracle_offsets.push_back(static_cast<std::int64_t>(oracle_positions.size()));
    columns.ids.push_back("id");
    columns.types.push_back("general");
    columns.questions.push_back(i % 2 ? "odd?" : "even?");
    columns.cot_answers.push_back("<ANSWER>: yes");
  }
  columns.document_offsets = document_offsets.data();
  columns.documents = documents.data();
  columns.oracle_offsets = oracle_offsets.data();
  columns.oracle_positions = oracle_positions.data();
  rf::validate(columns);
  for (std::size_t row = 0; row < 1000; ++row) expected += rf::encode_record(columns, rf::record_format::hf, "", row);
  for (int threads : {1, 2, 4}) {
    char path[] = "/tmp/ragtune-records-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "header\n", 7), 7);
    const auto pool = rf::escape_pool(columns, threads);
    const auto written = rf::write_jsonl(columns, pool, rf::record_format::hf, "", 0, 1000, fd, 7, path, threads);
    ::close(fd);
    EXPECT_EQ(written, expected.size());
    EXPECT_EQ(read_file(path), "header\n" + expected) << threads << " threads";
    std::remove(path);
  }
}

TEST(RaftRecords, BadColumnsAreRefused) {
  two_examples e;
  e.documents[2] = 5;
  EXPECT_THROW(rf::validate(e.columns), std::invalid_argument);
  two_examples f;
  f.oracle_positions[0] = 2;  // row 0 shows 2 documents
  EXPECT_THROW(rf::validate(f.columns), std::invalid_argument);
  two_examples g;
  g.columns.titles.pop_back();
  EXPECT_THROW(rf::validate(g.columns), std::invalid_argument);
  EXPECT_THROW(rf::parse_record_format("alpaca"), std::invalid_argument);
  EXPECT_THROW(rf::encode_record(e.columns, rf::record_format::hf, "", 2), std::invalid_argument);
}

TEST(RaftRecords, ComposedFieldsAreArrowStringColumns) {
  two_examples e;
  const auto answers = rf::compose(e.columns, rf::composed_field::final_answer, 0, 2, 2);
  EXPECT_EQ(answers.offsets, (std::vector<std::int64_t>{0, 7, 7}));
  EXPECT_EQ(answers.data, "roasted");
  EXPECT_EQ(answers.valid, (std::vector<std::uint8_t>{1, 0}));
  const auto oracle = rf::compose(e.columns, rf::composed_field::oracle_context, 0, 2, 1);
  EXPECT_EQ(oracle.data, "Coffee\tis roasted.");
  EXPECT_EQ(oracle.offsets.back(), 18);
}

TEST(RaftQuotes, SpansVerdictsAndNormalisedWhitespace) {
  const std::vector<std::string_view> pool{"alpha  beta\tgamma", "delta"};
  const std::vector<std::string_view> answers{
      "##begin_quote## alpha  beta ##end_quote## and ##begin_quote##alpha beta##end_quote## <ANSWER>: x",
      "##begin_quote##delta##end_quote## ##begin_quote## unclosed <ANSWER>:  "};
  const std::vector<std::int64_t> offsets{0, 1, 2}, ids{0, 1};
  const auto exact = rf::check_quotes(answers, pool, offsets.data(), ids.data(), false, 1);
  EXPECT_EQ(exact.quote_offsets, (std::vector<std::int64_t>{0, 2, 3}));
  EXPECT_EQ(exact.quote_found, (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(answers[0].substr(exact.quote_starts[0], exact.quote_ends[0] - exact.quote_starts[0]), "alpha  beta");
  EXPECT_EQ(exact.has_answer, (std::vector<std::uint8_t>{1, 0}));
  EXPECT_EQ(exact.unbalanced, (std::vector<std::uint8_t>{0, 1}));
  const auto normal = rf::check_quotes(answers, pool, offsets.data(), ids.data(), true, 2);
  EXPECT_EQ(normal.quote_found, (std::vector<std::uint8_t>{1, 1, 1}));
  const std::vector<std::int64_t> outside{0, 3};
  EXPECT_THROW(rf::check_quotes(answers, pool, offsets.data(), outside.data(), false, 1), std::invalid_argument);
}
