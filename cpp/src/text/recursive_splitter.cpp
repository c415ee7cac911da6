#include "ragtune/text/recursive_splitter.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "ragtune/simd/text_kernels.hpp"
#include "ragtune/text/utf8.hpp"

namespace ragtune::text {
namespace {

const std::uint8_t* bytes_of(std::string_view text) { return reinterpret_cast<const std::uint8_t*>(text.data()); }

// The length of a span of the document, in the unit the user chose.
class measure {
 public:
  measure(std::string_view text, const length_spec& spec)
      : text_(text), spec_(spec), ascii_(simd::is_ascii(bytes_of(text), text.size())) {}

  bool ascii() const { return ascii_; }

  std::size_t span(std::size_t begin, std::size_t end) const {
    switch (spec_.mode) {
      case length_spec::kind::characters:
        return ascii_ ? end - begin : simd::count_codepoints(bytes_of(text_) + begin, end - begin);
      case length_spec::kind::tokens: {
        const std::size_t* first = spec_.token_starts;
        const std::size_t* last = first + spec_.token_count;
        return static_cast<std::size_t>(std::lower_bound(first, last, end) - std::lower_bound(first, last, begin));
      }
      case length_spec::kind::callback:
        return spec_.callback(text_.substr(begin, end - begin));
    }
    return 0;
  }

  // Length of the string pieces are joined with at separator level `index`.
  std::size_t joiner(std::string_view joiner, std::size_t index) const {
    switch (spec_.mode) {
      case length_spec::kind::characters:
        return simd::count_codepoints(bytes_of(joiner), joiner.size());
      case length_spec::kind::tokens:
        return joiner.empty() || index >= spec_.separator_lengths.size() ? 0 : spec_.separator_lengths[index];
      case length_spec::kind::callback:
        return spec_.callback(joiner);
    }
    return 0;
  }

  bool single_characters_are_one() const { return spec_.mode == length_spec::kind::characters; }

 private:
  std::string_view text_;
  const length_spec& spec_;
  bool ascii_;
};

struct piece {
  std::size_t begin;
  std::size_t end;
  std::size_t length;
  bool joins_verbatim;  // the text between the previous piece and this one is exactly the joiner
};

// LangChain's _merge_splits, one piece at a time: pieces accumulate until the
// next would overflow chunk_size; then a chunk is emitted and pieces are dropped
// from the front until what remains fits the overlap.
class merger {
 public:
  // `storage` is scratch space owned by the caller and reused across levels: a
  // level finishes its merger before recursing, so one buffer per depth suffices.
  merger(const recursive_options& options, std::string_view text, std::string_view joiner, std::size_t joiner_length,
         split_result& out, std::vector<piece>& storage)
      : options_(options), text_(text), joiner_(joiner), joiner_length_(joiner_length), out_(out), pieces_(storage) {
    pieces_.clear();
  }

  void push(const piece& next) {
    const std::size_t size = options_.chunk_size;
    if (total_ + next.length + (empty() ? 0 : joiner_length_) > size && !empty()) {
      emit();
      while (!empty() &&
             (total_ > options_.chunk_overlap || (total_ + next.length + joiner_length_ > size && total_ > 0))) {
        total_ -= front().length + (count() > 1 ? joiner_length_ : 0);
        ++head_;
        if (!empty() && !front().joins_verbatim) --gaps_;
      }
      compact();
    }
    if (!empty() && !next.joins_verbatim) ++gaps_;
    pieces_.push_back(next);
    total_ += next.length + (count() > 1 ? joiner_length_ : 0);
  }

  // The end of a run of pieces: emit what is left and start afresh.
  void finish() {
    if (!empty()) emit();
    pieces_.clear();
    head_ = 0;
    total_ = 0;
    gaps_ = 0;
  }

 private:
  bool empty() const { return head_ == pieces_.size(); }
  std::size_t count() const { return pieces_.size() - head_; }
  const piece& front() const { return pieces_[head_]; }
  // Drops popped pieces once they are the majority, keeping pops O(1) amortised.
  void compact() {
    if (head_ > 64 && head_ * 2 > pieces_.size()) {
      pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void emit() {
    std::size_t begin = front().begin;
    std::size_t end = pieces_.back().end;
    const char* data = text_.data();
    if (gaps_ > 0 && options_.langchain_text) {
      std::string joined;
      for (std::size_t i = head_; i < pieces_.size(); ++i) {
        if (i > head_) joined.append(joiner_);
        joined.append(data + pieces_[i].begin, pieces_[i].end - pieces_[i].begin);
      }
      auto [from, to] = options_.strip_whitespace ? strip_python_space(joined.data(), 0, joined.size())
                                                  : std::pair<std::size_t, std::size_t>{0, joined.size()};
      if (from == to) return;
      if (options_.strip_whitespace) std::tie(begin, end) = strip_python_space(data, begin, end);
      out_.chunks.push_back({begin, end, static_cast<std::int64_t>(out_.texts.size())});
      out_.texts.emplace_back(joined, from, to - from);
      return;
    }
    if (options_.strip_whitespace) std::tie(begin, end) = strip_python_space(data, begin, end);
    if (begin == end) return;
    out_.chunks.push_back({begin, end, -1});
  }

  const recursive_options& options_;
  std::string_view text_;
  std::string_view joiner_;
  std::size_t joiner_length_;
  split_result& out_;
  std::vector<piece>& pieces_;  // pieces_[head_..] are the current chunk's pieces
  std::size_t head_ = 0;
  std::size_t total_ = 0;
  std::size_t gaps_ = 0;  // pieces after the front whose gap is not the joiner
};

// One call of split(): LangChain's _split_text, recursing over byte spans.
class run {
 public:
  run(const recursive_options& options, const std::vector<separator_matcher>& matchers, std::string_view text,
      const length_spec& spec, split_result& out)
      : options_(options), matchers_(matchers), text_(text), measure_(text, spec), out_(out) {
    out_.ascii = measure_.ascii();
    // Scratch buffers live per thread and are reused across documents, so a
    // corpus of small documents does not allocate them again for each. A split
    // started from inside another (a length callback that splits) gets its own.
    static thread_local std::vector<std::vector<piece>> buffers;
    static thread_local bool buffers_in_use = false;
    if (buffers_in_use) {
      scratch_ = &own_buffers_;
    } else {
      buffers_in_use = true;
      in_use_flag_ = &buffers_in_use;
      scratch_ = &buffers;
    }
    if (scratch_->size() < matchers.size() + 1) scratch_->resize(matchers.size() + 1);
    // About one chunk per chunk_size bytes; avoids most regrowth of the result.
    out_.chunks.reserve(text.size() / std::max<std::size_t>(options.chunk_size, 1) + 4);
  }

  ~run() {
    if (in_use_flag_ != nullptr) *in_use_flag_ = false;
  }
  run(const run&) = delete;
  run& operator=(const run&) = delete;

  void level(std::size_t begin, std::size_t end, std::size_t first, std::size_t depth = 0) {
    const std::string_view span = text_.substr(begin, end - begin);
    // The first separator present in this span; if none is, the last one, with
    // nothing finer to recurse into.
    std::size_t chosen = matchers_.size() - 1;
    bool finer = false;
    for (std::size_t i = first; i < matchers_.size(); ++i) {
      if (matchers_[i].splits_characters()) {
        chosen = i;
        break;
      }
      if (matchers_[i].found_in(span)) {
        chosen = i;
        finer = i + 1 < matchers_.size();
        break;
      }
    }
    const separator_matcher& separator = matchers_[chosen];
    const bool keep = options_.keep != keep_separator::none;
    const std::string_view joiner = keep ? std::string_view() : std::string_view(separator.pattern());
    merger pieces(options_, text_, joiner, measure_.joiner(joiner, chosen), out_, (*scratch_)[depth]);

    std::size_t previous_end = std::string::npos;  // end of the last non-empty piece
    auto take = [&](std::size_t from, std::size_t to) {
      if (from == to) return;
      const bool verbatim =
          keep || previous_end == std::string::npos || text_.substr(previous_end, from - previous_end) == joiner;
      previous_end = to;
      const std::size_t length =
          separator.splits_characters() && measure_.single_characters_are_one() ? 1 : measure_.span(from, to);
      if (length < options_.chunk_size) {
        pieces.push({from, to, length, verbatim});
        return;
      }
      pieces.finish();
      if (finer)
        level(from, to, chosen + 1, depth + 1);
      else
        out_.chunks.push_back({from, to, -1});  // LangChain keeps an unsplittable piece as it is
    };

    if (separator.splits_characters()) {
      for (std::size_t at = begin; at < end;) {
        std::size_t step = utf8_sequence_length(static_cast<std::uint8_t>(text_[at]));
        if (at + step > end) step = end - at;
        take(at, at + step);
        at += step;
      }
    } else {
      std::size_t cursor = begin;  // start of the piece being formed
      separator.for_each_match(span, [&](std::size_t match_begin, std::size_t match_end) {
        match_begin += begin;
        match_end += begin;
        switch (options_.keep) {
          case keep_separator::none:
            take(cursor, match_begin);
            cursor = match_end;
            break;
          case keep_separator::start:
            take(cursor, match_begin);
            cursor = match_begin;
            break;
          case keep_separator::end:
            take(cursor, match_end);
            cursor = match_end;
            break;
        }
      });
      take(cursor, end);
    }
    pieces.finish();
  }

 private:
  const recursive_options& options_;
  const std::vector<separator_matcher>& matchers_;
  std::string_view text_;
  measure measure_;
  split_result& out_;
  std::vector<std::vector<piece>>* scratch_;  // one merger buffer per recursion depth
  std::vector<std::vector<piece>> own_buffers_;
  bool* in_use_flag_ = nullptr;
};

}  // namespace

recursive_splitter::recursive_splitter(recursive_options options) : options_(std::move(options)) {
  if (options_.chunk_size == 0) throw std::invalid_argument("chunk_size must be > 0, got 0");
  if (options_.chunk_overlap > options_.chunk_size)
    throw std::invalid_argument("chunk_overlap (" + std::to_string(options_.chunk_overlap) +
                                ") must not exceed chunk_size (" + std::to_string(options_.chunk_size) + ")");
  if (options_.separators.empty()) options_.separators = recursive_options{}.separators;
  // Each separator can add a level of recursion (and a stack frame) to split().
  if (options_.separators.size() > max_separators)
    throw std::invalid_argument("at most " + std::to_string(max_separators) + " separators are supported, got " +
                                std::to_string(options_.separators.size()));
  matchers_.reserve(options_.separators.size());
  for (const auto& separator : options_.separators) matchers_.emplace_back(separator, options_.is_separator_regex);
}

split_result recursive_splitter::split(std::string_view text, const length_spec& length) const {
  split_result out;
  if (length.mode == length_spec::kind::callback && !length.callback)
    throw std::invalid_argument("length_spec::callback is empty");
  run(options_, matchers_, text, length, out).level(0, text.size(), 0);
  return out;
}

}  // namespace ragtune::text
