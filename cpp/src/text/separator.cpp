#define PCRE2_CODE_UNIT_WIDTH 8
#include "ragtune/text/separator.hpp"

#include <pcre2.h>

#include <stdexcept>
#include <vector>

#include "ragtune/simd/text_kernels.hpp"

namespace ragtune::text {
namespace {

// Rewrites the few escapes whose meaning differs between Python's `re` and PCRE2:
// Python's \Z is PCRE2's \z (end of subject only), and Python's \s also matches
// the information separators U+001C..U+001F, which Unicode does not call space.
// (\S inside a character class is left alone: it cannot be widened there.)
std::string python_to_pcre2(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 'Z' && !in_class)
        out += "\\z";
      else if (next == 's')
        out += in_class ? "\\s\\x1c-\\x1f" : "[\\s\\x1c-\\x1f]";
      else if (next == 'S' && !in_class)
        out += "[^\\s\\x1c-\\x1f]";
      else {
        out += '\\';
        out += next;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

// Positions per SIMD pass; small because one buffer lives on the stack per recursion level.
constexpr std::size_t literal_batch = 512;

// PCRE2 gave up on a match (its match or depth limit on a backtracking-heavy pattern).
[[noreturn]] void match_failed(const std::string& pattern, int rc) {
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(rc, message, sizeof(message));
  throw pattern_error("separator regex '" + pattern +
                      "' failed on this text: " + reinterpret_cast<const char*>(message) +
                      " (a pattern with nested repetition backtracks exponentially; simplify it)");
}

}  // namespace

struct separator_matcher::regex {
  pcre2_code* code = nullptr;
  ~regex() { pcre2_code_free(code); }
};

separator_matcher::separator_matcher(std::string pattern, bool is_regex)
    : pattern_(std::move(pattern)), is_regex_(is_regex && !pattern_.empty()) {
  if (!is_regex_) return;
  const std::string translated = python_to_pcre2(pattern_);
  int error = 0;
  PCRE2_SIZE offset = 0;
  regex_ = std::make_unique<regex>();
  regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                               PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (regex_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw pattern_error("separator regex '" + pattern_ + "' does not compile at offset " + std::to_string(offset) +
                        ": " + reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(regex_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
}

separator_matcher::~separator_matcher() = default;
separator_matcher::separator_matcher(separator_matcher&&) noexcept = default;
separator_matcher& separator_matcher::operator=(separator_matcher&&) noexcept = default;

bool separator_matcher::found_in(std::string_view text) const {
  if (pattern_.empty()) return true;
  if (!is_regex_) {
    std::size_t position = 0;
    return simd::find_all(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(),
                          reinterpret_cast<const std::uint8_t*>(pattern_.data()), pattern_.size(), &position, 1) == 1;
  }
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(regex_->code, nullptr), &pcre2_match_data_free);
  const int rc = pcre2_match(regex_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                             PCRE2_NO_UTF_CHECK, data.get(), nullptr);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) match_failed(pattern_, rc);
  return rc >= 0;
}

void separator_matcher::for_each_match(std::string_view text,
                                       util::function_ref<void(std::size_t, std::size_t)> on_match) const {
  if (pattern_.empty()) return;
  if (!is_regex_) {
    const auto* hay = reinterpret_cast<const std::uint8_t*>(text.data());
    const auto* needle = reinterpret_cast<const std::uint8_t*>(pattern_.data());
    const std::size_t m = pattern_.size();
    std::size_t positions[literal_batch];
    std::size_t from = 0;     // where the next batch of candidates starts
    std::size_t allowed = 0;  // matches may not overlap: the next one starts at or after this
    while (from + m <= text.size()) {
      const std::size_t count = simd::find_all(hay + from, text.size() - from, needle, m, positions, literal_batch);
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t at = from + positions[k];
        if (at < allowed) continue;
        on_match(at, at + m);
        allowed = at + m;
      }
      if (count < literal_batch) break;
      from += positions[count - 1] + 1;
    }
    return;
  }
  // Python 3.7+ semantics: after an empty match at p, the next match may not be
  // empty at p; it may be non-empty at p, or anything later.
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(regex_->code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const std::size_t n = text.size();
  std::size_t start = 0;
  bool previous_empty = false;
  while (start <= n) {
    const uint32_t options = PCRE2_NO_UTF_CHECK | (previous_empty ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0);
    const int rc = pcre2_match(regex_->code, subject, n, start, options, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (!previous_empty) break;
      // No non-empty match here: move one code point on and search normally.
      if (start >= n) break;
      std::size_t step = 1;
      while (start + step < n && (static_cast<std::uint8_t>(text[start + step]) & 0xC0) == 0x80) ++step;
      start += step;
      previous_empty = false;
      continue;
    }
    if (rc < 0) match_failed(pattern_, rc);
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (end < begin)
      throw std::runtime_error("separator regex '" + pattern_ + "' uses \\K to end a match before its start");
    on_match(begin, end);
    previous_empty = begin == end;
    start = end;
  }
}

}  // namespace ragtune::text
