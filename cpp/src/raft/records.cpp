#include "ragtune/raft/records.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ragtune/io/files.hpp"
#include "ragtune/text/utf8.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::raft {
namespace {

constexpr std::string_view answer_marker = "<ANSWER>:";
constexpr std::string_view open_tag = "<DOCUMENT>";
constexpr std::string_view close_tag = "</DOCUMENT>";
// Rows encoded per task, and tasks per window (what is held in memory before writing).
constexpr std::size_t rows_per_block = 64;
constexpr std::size_t blocks_per_window = 64;

// How JSON spells each byte inside a string: nlohmann::json's own escapes, read once,
// for the bytes it escapes (control characters, '"' and '\\'); all other bytes of
// valid UTF-8 stand for themselves. With ensure_ascii off, these are exactly the
// escapes of Python's json.dumps(..., ensure_ascii=False): the two-character forms for
// \b \f \n \r \t \" \\, \u00XX with lower-case hex for the other control characters.
class escape_table {
 public:
  escape_table() {
    for (int c = 0; c < 256; ++c) {
      if (c >= 0x80) continue;  // UTF-8 lead and continuation bytes pass through
      const std::string quoted = nlohmann::json(std::string(1, static_cast<char>(c))).dump();
      const std::string inner = quoted.substr(1, quoted.size() - 2);
      if (inner.size() != 1) spelling_[c] = inner;
    }
  }

  // Appends `text` (valid UTF-8) escaped, without quotes.
  void append(std::string& out, std::string_view text) const {
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const std::string& spelling = spelling_[static_cast<unsigned char>(text[i])];
      if (spelling.empty()) continue;
      out.append(text.data() + run, i - run);
      out += spelling;
      run = i + 1;
    }
    out.append(text.data() + run, text.size() - run);
  }

 private:
  std::string spelling_[256];
};

const escape_table& escapes() {
  static const escape_table table;
  return table;
}

void append_escaped(std::string& out, std::string_view text) { escapes().append(out, text); }

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text);
  out += '"';
}

std::string quoted(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

// Appends a quoted string's content, without its quotes.
void append_inner(std::string& out, const std::string& quoted_text) {
  out.append(quoted_text, 1, quoted_text.size() - 2);
}

// The pool texts and titles that rows [first, last) show, as quoted JSON strings (entries
// no row shows stay empty: they are never read).
escaped_pool escape_shown(const record_columns& c, std::size_t first, std::size_t last, int threads) {
  std::vector<std::uint8_t> shown(c.texts.size(), 0);
  for (auto k = c.document_offsets[first]; k < c.document_offsets[last]; ++k)
    shown[static_cast<std::size_t>(c.documents[k])] = 1;
  escaped_pool pool;
  pool.texts.resize(c.texts.size());
  pool.titles.resize(c.titles.size());
  util::parallel_for_each(c.texts.size(), threads, [&](std::size_t i) {
    if (!shown[i]) return;
    pool.texts[i] = quoted(c.texts[i]);
    pool.titles[i] = quoted(c.titles[i]);
  });
  return pool;
}

class record_encoder {
 public:
  record_encoder(const record_columns& c, record_format format, std::string_view system_prompt,
                 const escaped_pool& pool)
      : c_(c), format_(format), pool_(pool), system_(system_prompt.empty() ? "" : quoted(system_prompt)) {}

  void encode(std::size_t row, std::string& out) const {
    const auto first = c_.document_offsets[row], last = c_.document_offsets[row + 1];
    switch (format_) {
      case record_format::hf: {
        const std::string question = quoted(c_.questions[row]);
        out += "{\"id\": ";
        append_quoted(out, c_.ids[row]);
        out += ", \"type\": ";
        append_quoted(out, c_.types[row]);
        out += ", \"question\": ";
        out += question;
        out += ", \"context\": {\"title\": [[";
        list(first, last, pool_.titles, out);
        out += "]], \"sentences\": [[";
        list(first, last, pool_.texts, out);
        out += "]]}, \"oracle_context\": \"";
        for (auto k = c_.oracle_offsets[row]; k < c_.oracle_offsets[row + 1]; ++k) {
          if (k > c_.oracle_offsets[row]) out += "\\n";
          append_inner(out, text(first + c_.oracle_positions[k]));
        }
        out += "\", \"cot_answer\": ";
        append_quoted(out, c_.cot_answers[row]);
        out += ", \"instruction\": \"";
        instruction(first, last, question, out);
        out += "\"}\n";
        return;
      }
      case record_format::completion:
        out += "{\"prompt\": \"";
        instruction(first, last, quoted(c_.questions[row]), out);
        out += "\", \"completion\": ";
        append_quoted(out, c_.cot_answers[row]);
        out += "}\n";
        return;
      case record_format::chat:
        out += "{\"messages\": [";
        if (!system_.empty()) {
          out += "{\"role\": \"system\", \"content\": ";
          out += system_;
          out += "}, ";
        }
        out += "{\"role\": \"user\", \"content\": \"";
        instruction(first, last, quoted(c_.questions[row]), out);
        out += "\"}, {\"role\": \"assistant\", \"content\": ";
        append_quoted(out, c_.cot_answers[row]);
        out += "}]}\n";
        return;
      case record_format::eval: {
        out += "{\"question\": ";
        append_quoted(out, c_.questions[row]);
        out += ", \"gold_final_answer\": ";
        std::string_view answer;
        if (final_answer(c_.cot_answers[row], answer))
          append_quoted(out, answer);
        else
          out += "null";
        out += ", \"context\": \"";
        for (auto k = first; k < last; ++k) {
          if (k > first) out += "\\n";
          out += open_tag;
          append_inner(out, text(k));
          out += close_tag;
        }
        out += "\"}\n";
        return;
      }
    }
  }

 private:
  const std::string& text(std::int64_t k) const { return pool_.texts[static_cast<std::size_t>(c_.documents[k])]; }

  void list(std::int64_t first, std::int64_t last, const std::vector<std::string>& values, std::string& out) const {
    for (auto k = first; k < last; ++k) {
      if (k > first) out += ", ";
      out += values[static_cast<std::size_t>(c_.documents[k])];
    }
  }

  void instruction(std::int64_t first, std::int64_t last, const std::string& question, std::string& out) const {
    for (auto k = first; k < last; ++k) {
      out += open_tag;
      append_inner(out, text(k));
      out += close_tag;
      out += "\\n";
    }
    append_inner(out, question);
  }

  const record_columns& c_;
  record_format format_;
  const escaped_pool& pool_;
  std::string system_;
};

void check_range(const record_columns& c, std::size_t first, std::size_t last) {
  if (first > last || last > c.rows())
    throw std::invalid_argument("rows " + std::to_string(first) + ".." + std::to_string(last) + " are not among the " +
                                std::to_string(c.rows()) + " examples");
}

void check_offsets(const std::int64_t* offsets, std::size_t rows, const char* what) {
  if (offsets == nullptr) throw std::invalid_argument(std::string(what) + " offsets are missing");
  if (offsets[0] != 0) throw std::invalid_argument(std::string(what) + " offsets must start at 0");
  for (std::size_t i = 0; i < rows; ++i)
    if (offsets[i + 1] < offsets[i]) throw std::invalid_argument(std::string(what) + " offsets must ascend");
}

}  // namespace

record_format parse_record_format(std::string_view name) {
  if (name == "hf") return record_format::hf;
  if (name == "completion") return record_format::completion;
  if (name == "chat") return record_format::chat;
  if (name == "eval") return record_format::eval;
  throw std::invalid_argument("unknown format '" + std::string(name) + "'; choose one of hf, completion, chat, eval");
}

composed_field parse_composed_field(std::string_view name) {
  if (name == "instruction") return composed_field::instruction;
  if (name == "oracle_context") return composed_field::oracle_context;
  if (name == "eval_context") return composed_field::eval_context;
  if (name == "final_answer") return composed_field::final_answer;
  throw std::invalid_argument("unknown field '" + std::string(name) +
                              "'; choose one of instruction, oracle_context, eval_context, final_answer");
}

void validate(const record_columns& c) {
  const std::size_t rows = c.rows();
  if (c.titles.size() != c.texts.size())
    throw std::invalid_argument("there are " + std::to_string(c.texts.size()) + " texts but " +
                                std::to_string(c.titles.size()) + " titles");
  if (c.types.size() != rows || c.questions.size() != rows || c.cot_answers.size() != rows)
    throw std::invalid_argument("ids, types, questions and answers must have one entry per example");
  check_offsets(c.document_offsets, rows, "document");
  check_offsets(c.oracle_offsets, rows, "oracle");
  if (rows > 0 && (c.documents == nullptr || c.oracle_positions == nullptr))
    throw std::invalid_argument("documents and oracle positions are required");
  for (auto k = c.document_offsets[0]; k < c.document_offsets[rows]; ++k)
    if (c.documents[k] < 0 || static_cast<std::size_t>(c.documents[k]) >= c.texts.size())
      throw std::invalid_argument("document " + std::to_string(c.documents[k]) + " is not among the " +
                                  std::to_string(c.texts.size()) + " texts");
  for (std::size_t i = 0; i < rows; ++i) {
    const auto shown = c.document_offsets[i + 1] - c.document_offsets[i];
    for (auto k = c.oracle_offsets[i]; k < c.oracle_offsets[i + 1]; ++k)
      if (c.oracle_positions[k] < 0 || c.oracle_positions[k] >= shown)
        throw std::invalid_argument("example " + std::to_string(i) + " has its oracle at position " +
                                    std::to_string(c.oracle_positions[k]) + " of " + std::to_string(shown) +
                                    " documents");
  }
}

bool final_answer(std::string_view cot_answer, std::string_view& answer) {
  const auto marker = cot_answer.rfind(answer_marker);
  if (marker == std::string_view::npos) return false;
  const auto [begin, end] =
      text::strip_python_space(cot_answer.data(), marker + answer_marker.size(), cot_answer.size());
  answer = cot_answer.substr(begin, end - begin);
  return !answer.empty();
}

std::string encode_record(const record_columns& columns, record_format format, std::string_view system_prompt,
                          std::size_t row) {
  check_range(columns, row, row + 1);
  const escaped_pool pool = escape_shown(columns, row, row + 1, 1);
  std::string out;
  record_encoder(columns, format, system_prompt, pool).encode(row, out);
  return out;
}

escaped_pool escape_pool(const record_columns& columns, int threads) {
  return escape_shown(columns, 0, columns.rows(), threads);
}

std::uint64_t write_jsonl(const record_columns& columns, const escaped_pool& pool, record_format format,
                          std::string_view system_prompt, std::size_t first, std::size_t last, int fd,
                          std::uint64_t offset, const std::string& path, int threads) {
  check_range(columns, first, last);
  if (pool.texts.size() != columns.texts.size() || pool.titles.size() != columns.titles.size())
    throw std::invalid_argument("the escaped pool was made for other columns");
  const record_encoder encoder(columns, format, system_prompt, pool);
  const std::uint64_t start = offset;
  std::vector<std::string> blocks(blocks_per_window);
  std::vector<std::uint64_t> at(blocks_per_window);
  for (std::size_t window = first; window < last; window += rows_per_block * blocks_per_window) {
    const std::size_t count = std::min(blocks_per_window, (last - window + rows_per_block - 1) / rows_per_block);
    util::parallel_for_each(count, threads, [&](std::size_t b) {
      std::string& out = blocks[b];
      out.clear();
      const std::size_t begin = window + b * rows_per_block, end = std::min(last, begin + rows_per_block);
      for (std::size_t row = begin; row < end; ++row) encoder.encode(row, out);
    });
    for (std::size_t b = 0; b < count; ++b) {
      at[b] = offset;
      offset += blocks[b].size();
    }
    // The blocks' places are known, so they are written side by side.
    util::parallel_for_each(
        count, threads, [&](std::size_t b) { io::write_all_at(fd, blocks[b].data(), blocks[b].size(), at[b], path); });
  }
  return offset - start;
}

text_column compose(const record_columns& c, composed_field field, std::size_t first, std::size_t last, int threads) {
  check_range(c, first, last);
  const std::size_t rows = last - first;
  const std::size_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  std::vector<std::string> parts(blocks);
  std::vector<std::vector<std::int64_t>> lengths(blocks);
  text_column out;
  out.valid.assign(rows, 1);
  util::parallel_for_each(blocks, threads, [&](std::size_t b) {
    const std::size_t begin = first + b * rows_per_block, end = std::min(last, begin + rows_per_block);
    std::string& text = parts[b];
    for (std::size_t row = begin; row < end; ++row) {
      const std::size_t before = text.size();
      const auto d0 = c.document_offsets[row], d1 = c.document_offsets[row + 1];
      auto document = [&](std::int64_t k) { return c.texts[static_cast<std::size_t>(c.documents[k])]; };
      switch (field) {
        case composed_field::instruction:
          for (auto k = d0; k < d1; ++k) {
            text += open_tag;
            text += document(k);
            text += close_tag;
            text += '\n';
          }
          text += c.questions[row];
          break;
        case composed_field::oracle_context:
          for (auto k = c.oracle_offsets[row]; k < c.oracle_offsets[row + 1]; ++k) {
            if (k > c.oracle_offsets[row]) text += '\n';
            text += document(d0 + c.oracle_positions[k]);
          }
          break;
        case composed_field::eval_context:
          for (auto k = d0; k < d1; ++k) {
            if (k > d0) text += '\n';
            text += open_tag;
            text += document(k);
            text += close_tag;
          }
          break;
        case composed_field::final_answer: {
          std::string_view answer;
          if (final_answer(c.cot_answers[row], answer))
            text += answer;
          else
            out.valid[row - first] = 0;
          break;
        }
      }
      lengths[b].push_back(static_cast<std::int64_t>(text.size() - before));
    }
  });
  out.offsets.reserve(rows + 1);
  out.offsets.push_back(0);
  std::size_t total = 0;
  for (const auto& part : parts) total += part.size();
  out.data.reserve(total);
  for (std::size_t b = 0; b < blocks; ++b) {
    out.data += parts[b];
    for (auto length : lengths[b]) out.offsets.push_back(out.offsets.back() + length);
  }
  return out;
}

}  // namespace ragtune::raft
