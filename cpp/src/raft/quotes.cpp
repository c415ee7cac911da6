#include "ragtune/raft/quotes.hpp"

#include <stdexcept>
#include <string>

#include "ragtune/raft/records.hpp"
#include "ragtune/text/utf8.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::raft {
namespace {

constexpr std::string_view begin_quote = "##begin_quote##";
constexpr std::string_view end_quote = "##end_quote##";

// Python's re.sub(r"\s+", " ", text).strip(): runs of whitespace become one space.
std::string normalised(std::string_view text) {
  const auto [begin, end] = text::strip_python_space(text.data(), 0, text.size());
  std::string out;
  out.reserve(end - begin);
  bool in_space = false;
  for (std::size_t i = begin, length = 0; i < end; i += length) {
    const auto cp = text::utf8_decode(text.data(), end, i, length);
    if (text::is_python_space(cp)) {
      if (!in_space) out += ' ';
      in_space = true;
    } else {
      out.append(text.data() + i, length);
      in_space = false;
    }
  }
  return out;
}

struct answer_check {
  std::vector<std::pair<std::size_t, std::size_t>> quotes;
  std::vector<std::uint8_t> found;
  bool has_answer = false, unbalanced = false;
};

}  // namespace

quote_report check_quotes(const std::vector<std::string_view>& answers, const std::vector<std::string_view>& pool,
                          const std::int64_t* oracle_offsets, const std::int64_t* oracle_ids, bool normalise_whitespace,
                          int threads) {
  const std::size_t n = answers.size();
  if (oracle_offsets == nullptr || oracle_offsets[0] != 0)
    throw std::invalid_argument("oracle offsets must start at 0");
  for (std::size_t i = 0; i < n; ++i) {
    if (oracle_offsets[i + 1] < oracle_offsets[i]) throw std::invalid_argument("oracle offsets must ascend");
    for (auto k = oracle_offsets[i]; k < oracle_offsets[i + 1]; ++k)
      if (oracle_ids[k] < 0 || static_cast<std::size_t>(oracle_ids[k]) >= pool.size())
        throw std::invalid_argument("oracle " + std::to_string(oracle_ids[k]) + " is not among the " +
                                    std::to_string(pool.size()) + " texts");
  }
  // Normalised oracles, once each (only those some answer names).
  std::vector<std::string> normal;
  if (normalise_whitespace) {
    std::vector<std::uint8_t> named(pool.size(), 0);
    for (auto k = oracle_offsets[0]; k < oracle_offsets[n]; ++k) named[static_cast<std::size_t>(oracle_ids[k])] = 1;
    normal.resize(pool.size());
    util::parallel_for_each(pool.size(), threads, [&](std::size_t i) {
      if (named[i]) normal[i] = normalised(pool[i]);
    });
  }
  std::vector<answer_check> checks(n);
  util::parallel_for_each(n, threads, [&](std::size_t i) {
    const std::string_view text = answers[i];
    answer_check& check = checks[i];
    std::string without;  // the answer with its matched spans removed
    std::size_t at = 0;
    while (true) {
      const auto open = text.find(begin_quote, at);
      if (open == std::string_view::npos) break;
      const auto close = text.find(end_quote, open + begin_quote.size());
      if (close == std::string_view::npos) break;
      const auto [begin, end] = text::strip_python_space(text.data(), open + begin_quote.size(), close);
      check.quotes.emplace_back(begin, end);
      without.append(text.data() + at, open - at);
      at = close + end_quote.size();
    }
    without.append(text.data() + at, text.size() - at);
    check.unbalanced = without.find(begin_quote) != std::string::npos || without.find(end_quote) != std::string::npos;
    std::string_view final_text;
    check.has_answer = final_answer(text, final_text);
    for (const auto& [begin, end] : check.quotes) {
      const std::string needle_text = normalise_whitespace ? normalised(text.substr(begin, end - begin))
                                                           : std::string(text.substr(begin, end - begin));
      bool found = false;
      for (auto k = oracle_offsets[i]; !needle_text.empty() && !found && k < oracle_offsets[i + 1]; ++k) {
        const auto id = static_cast<std::size_t>(oracle_ids[k]);
        const std::string_view haystack = normalise_whitespace ? std::string_view(normal[id]) : pool[id];
        found = haystack.find(needle_text) != std::string_view::npos;
      }
      check.found.push_back(found);
    }
  });
  quote_report out;
  out.quote_offsets.reserve(n + 1);
  out.quote_offsets.push_back(0);
  for (const auto& check : checks) {
    for (std::size_t q = 0; q < check.quotes.size(); ++q) {
      out.quote_starts.push_back(static_cast<std::int64_t>(check.quotes[q].first));
      out.quote_ends.push_back(static_cast<std::int64_t>(check.quotes[q].second));
      out.quote_found.push_back(check.found[q]);
    }
    out.quote_offsets.push_back(static_cast<std::int64_t>(out.quote_starts.size()));
    out.has_answer.push_back(check.has_answer);
    out.unbalanced.push_back(check.unbalanced);
  }
  return out;
}

}  // namespace ragtune::raft
