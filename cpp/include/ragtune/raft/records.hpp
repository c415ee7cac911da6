#pragma once
/// @file
/// @brief RAFT examples kept as columns, and the record formats written straight from
///        them: JSON Lines byte-identical to Python's `json.dumps(record,
///        ensure_ascii=False)` (separators ", " and ": "), and the composed text fields
///        (instruction, oracle context, ...) as Arrow-style string columns.
///
/// An example's documents are indices into a pool of texts (the chunk corpus, plus any
/// text cut to fit a token budget), so each chunk is JSON-escaped once however many
/// examples show it. Escaping is nlohmann::json's; the records' layout is fixed here.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ragtune::raft {

/// @brief The record layouts (see python/ragtune/raft/formats.py).
enum class record_format { hf, completion, chat, eval };

/// @brief "hf", "completion", "chat" or "eval". @throws std::invalid_argument naming the valid ones.
record_format parse_record_format(std::string_view name);

/// @brief Examples as columns. Row i shows pool texts documents[document_offsets[i] ..
///        document_offsets[i+1]) in that order; oracle_positions[oracle_offsets[i] ..
///        oracle_offsets[i+1]) are positions among them. Views are not owned.
struct record_columns {
  std::vector<std::string_view> texts;                               ///< the pool (valid UTF-8)
  std::vector<std::string_view> titles;                              ///< one per pool text
  std::vector<std::string_view> ids, types, questions, cot_answers;  ///< one per example
  const std::int64_t* document_offsets = nullptr;                    ///< rows() + 1
  const std::int64_t* documents = nullptr;
  const std::int64_t* oracle_offsets = nullptr;  ///< rows() + 1
  const std::int64_t* oracle_positions = nullptr;

  std::size_t rows() const noexcept { return ids.size(); }
};

/// @brief Checks lengths, offsets and indices. @throws std::invalid_argument naming the first problem.
void validate(const record_columns& columns);

/// @brief Pool texts and titles as quoted JSON string literals (those no row shows stay empty).
struct escaped_pool {
  std::vector<std::string> texts, titles;
};

/// @brief Escapes the pool of @p columns once, on @p threads threads, for any number of writes.
escaped_pool escape_pool(const record_columns& columns, int threads);

/// @brief Writes rows [first, last) as JSON Lines into @p fd from byte @p offset on (pwrite:
///        the descriptor's position is not used), encoding blocks on @p threads threads.
///        An empty @p system_prompt adds no system message (as in Python, where it is falsy).
/// @returns the bytes written. @throws io::io_error (errno, @p path) when a write fails.
std::uint64_t write_jsonl(const record_columns& columns, const escaped_pool& pool, record_format format,
                          std::string_view system_prompt, std::size_t first, std::size_t last, int fd,
                          std::uint64_t offset, const std::string& path, int threads);

/// @brief The JSON line (with its newline) of one row, for tests and small writes.
std::string encode_record(const record_columns& columns, record_format format, std::string_view system_prompt,
                          std::size_t row);

/// @brief A composed text per row, as Arrow lays out strings: row i is
///        data[offsets[i] .. offsets[i+1]); valid[i] == 0 marks a null.
struct text_column {
  std::vector<std::int64_t> offsets;
  std::string data;
  std::vector<std::uint8_t> valid;
};

/// @brief The fields composed from several parts of an example.
enum class composed_field {
  instruction,     ///< every document in <DOCUMENT> tags on its own line, then the question
  oracle_context,  ///< the oracle documents joined by newlines
  eval_context,    ///< the tagged documents joined by newlines (no question)
  final_answer,    ///< the stripped text after the last "<ANSWER>:" (null when absent or empty)
};

/// @brief "instruction", "oracle_context", "eval_context" or "final_answer". @throws std::invalid_argument.
composed_field parse_composed_field(std::string_view name);

/// @brief @p field for rows [first, last), built on @p threads threads.
text_column compose(const record_columns& columns, composed_field field, std::size_t first, std::size_t last,
                    int threads);

/// @brief The text after the last "<ANSWER>:" with Python's str.strip() whitespace removed, and
///        whether there is one (false when the marker is missing or nothing follows it).
bool final_answer(std::string_view cot_answer, std::string_view& answer);

}  // namespace ragtune::raft
