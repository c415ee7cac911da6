#include "ragtune/raft/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "ragtune/simd/text_kernels.hpp"
#include "ragtune/text/utf8.hpp"
#include "ragtune/text/word_tokenizer.hpp"
#include "ragtune/util/hash.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::raft {
namespace {

// Rejection sampling gives up after this many draws per wanted distractor and
// scans the corpus instead (only tiny or duplicate-heavy corpora get there).
constexpr std::size_t draws_per_distractor = 64;

std::string item_name(std::size_t item) { return "question #" + std::to_string(item); }

class near_duplicates {
 public:
  near_duplicates(const sampler_input& in, double jaccard) : in_(in) {
    if (in.minhash != nullptr && in.minhash_size > 0)
      agreeing_ = static_cast<std::size_t>(std::ceil(jaccard * static_cast<double>(in.minhash_size)));
  }

  // Whether chunk c must not stand beside oracle o as a distractor.
  bool operator()(std::int64_t c, std::int64_t o) const noexcept {
    if (c == o) return true;
    const auto ci = static_cast<std::size_t>(c), oi = static_cast<std::size_t>(o);
    if (in_.groups && in_.starts && in_.ends && in_.groups[ci] == in_.groups[oi] && in_.starts[ci] < in_.ends[oi] &&
        in_.starts[oi] < in_.ends[ci])
      return true;  // overlapping spans of one document share text
    if (in_.text_hashes && in_.text_hashes[ci] == in_.text_hashes[oi]) return true;
    if (agreeing_ > 0) {
      const std::uint32_t* a = in_.minhash + ci * in_.minhash_size;
      const std::uint32_t* b = in_.minhash + oi * in_.minhash_size;
      std::size_t same = 0;
      for (std::size_t j = 0; j < in_.minhash_size; ++j) same += a[j] == b[j];
      if (same >= agreeing_) return true;
    }
    return false;
  }

 private:
  const sampler_input& in_;
  std::size_t agreeing_ = 0;
};

void validate(const sampler_input& in, const sampler_options& opt) {
  if (!(opt.oracle_probability >= 0.0 && opt.oracle_probability <= 1.0))
    throw std::invalid_argument("p (the share of examples that keep their oracle) must be between 0 and 1");
  if (!(opt.hard_fraction >= 0.0 && opt.hard_fraction <= 1.0))
    throw std::invalid_argument("hard_fraction must be between 0 and 1");
  if (!(opt.near_duplicate_jaccard > 0.0 && opt.near_duplicate_jaccard <= 1.0))
    throw std::invalid_argument("near_duplicate_jaccard must be in (0, 1]");
  if (in.item_count > 0 && (in.oracle_offsets == nullptr || in.oracle_ids == nullptr))
    throw std::invalid_argument("oracle ids are required");
  for (std::size_t i = 0; i < in.item_count; ++i) {
    const auto first = in.oracle_offsets[i], last = in.oracle_offsets[i + 1];
    if (first < 0 || last <= first) throw std::invalid_argument(item_name(i) + " has no oracle chunk");
    for (auto k = first; k < last; ++k)
      if (in.oracle_ids[k] < 0 || static_cast<std::size_t>(in.oracle_ids[k]) >= in.chunk_count)
        throw std::invalid_argument(item_name(i) + " names oracle chunk " + std::to_string(in.oracle_ids[k]) +
                                    ", but there are " + std::to_string(in.chunk_count) + " chunks");
  }
  if (in.item_positions != nullptr)
    for (std::size_t i = 0; i < in.item_count; ++i) {
      const auto position = in.item_positions[i];
      if (position < 0 || static_cast<std::size_t>(position) >= in.total_items ||
          (i > 0 && position <= in.item_positions[i - 1]))
        throw std::invalid_argument("item positions must ascend within [0, " + std::to_string(in.total_items) +
                                    "), got " + std::to_string(position) + " at " + std::to_string(i));
    }
  if (opt.kind != strategy::random) {
    if (in.candidate_offsets == nullptr || in.candidate_ids == nullptr)
      throw std::invalid_argument("hard and mixed sampling need ranked candidates for each question");
    for (std::size_t i = 0; i < in.item_count; ++i)
      if (in.candidate_offsets[i + 1] < in.candidate_offsets[i] || in.candidate_offsets[i] < 0)
        throw std::invalid_argument("candidate offsets must ascend");
  }
}

}  // namespace

sampler_output assemble(const sampler_input& in, const sampler_options& opt, int threads) {
  validate(in, opt);
  const std::size_t n = in.item_count;
  const std::size_t total = in.item_positions != nullptr ? in.total_items : n;
  auto position = [&](std::size_t i) {
    return in.item_positions != nullptr ? static_cast<std::size_t>(in.item_positions[i]) : i;
  };
  sampler_output out;
  // Exactly round(P * N) examples of the whole set keep their oracles (halves round up);
  // which ones comes from a seeded shuffle of the question numbers.
  const auto keep = static_cast<std::size_t>(std::floor(opt.oracle_probability * static_cast<double>(total) + 0.5));
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), 0);
  util::random_stream shuffle(util::mix64(opt.seed ^ 0x5241465453414D50ULL));  // "RAFTSAMP"
  for (std::size_t i = total; i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
  std::vector<std::uint8_t> kept_in_set(total, 0);
  for (std::size_t i = 0; i < keep; ++i) kept_in_set[order[i]] = 1;
  out.kept_oracle.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) out.kept_oracle[i] = kept_in_set[position(i)];

  out.document_offsets.assign(n + 1, 0);
  out.oracle_position_offsets.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto oracles = static_cast<std::size_t>(in.oracle_offsets[i + 1] - in.oracle_offsets[i]);
    // A dropped oracle is replaced by a distractor, so every example shows the same number of documents.
    out.document_offsets[i + 1] = out.document_offsets[i] + static_cast<std::int64_t>(opt.distractors + oracles);
    out.oracle_position_offsets[i + 1] =
        out.oracle_position_offsets[i] + static_cast<std::int64_t>(out.kept_oracle[i] ? oracles : 0);
  }
  out.documents.assign(static_cast<std::size_t>(out.document_offsets[n]), -1);
  out.oracle_positions.assign(static_cast<std::size_t>(out.oracle_position_offsets[n]), -1);
  std::vector<std::uint32_t> hard_used(n, 0), random_used(n, 0), skipped(n, 0), repeated(n, 0);
  const near_duplicates near(in, opt.near_duplicate_jaccard);

  util::parallel_for_each(n, threads, [&](std::size_t i) {
    util::random_stream rng = util::random_stream::for_item(opt.seed, position(i));
    const std::int64_t* oracles = in.oracle_ids + in.oracle_offsets[i];
    const auto oracle_count = static_cast<std::size_t>(in.oracle_offsets[i + 1] - in.oracle_offsets[i]);
    const bool kept = out.kept_oracle[i] != 0;
    const std::size_t wanted = opt.distractors + (kept ? 0 : oracle_count);
    std::int64_t* docs = out.documents.data() + out.document_offsets[i];
    std::size_t have = 0;
    if (kept)
      for (std::size_t o = 0; o < oracle_count; ++o) docs[have++] = oracles[o];
    const std::size_t oracle_slots = have;
    auto eligible = [&](std::int64_t c) {
      for (std::size_t d = 0; d < have; ++d) {
        if (docs[d] == c) return false;
        // Boilerplate (a licence footer, a navigation block) repeats across files under
        // different ids: one example must not show the same text twice.
        if (in.text_hashes &&
            in.text_hashes[static_cast<std::size_t>(docs[d])] == in.text_hashes[static_cast<std::size_t>(c)]) {
          ++repeated[i];
          return false;
        }
      }
      for (std::size_t o = 0; o < oracle_count; ++o)
        if (near(c, oracles[o])) {
          ++skipped[i];
          return false;
        }
      return true;
    };
    std::size_t hard_wanted = 0;
    if (opt.kind == strategy::hard) hard_wanted = wanted;
    if (opt.kind == strategy::mixed)
      hard_wanted = static_cast<std::size_t>(std::floor(opt.hard_fraction * static_cast<double>(wanted) + 0.5));
    if (hard_wanted > 0) {
      for (auto c = in.candidate_offsets[i]; c < in.candidate_offsets[i + 1] && have < oracle_slots + hard_wanted;
           ++c) {
        const std::int64_t id = in.candidate_ids[c];
        if (id < 0 || static_cast<std::size_t>(id) >= in.chunk_count) continue;
        if (eligible(id)) {
          docs[have++] = id;
          ++hard_used[i];
        }
      }
    }
    // The rest (and any hard shortfall) at random.
    const std::size_t target = oracle_slots + wanted;
    for (std::size_t draws = 0; have < target && draws < draws_per_distractor * wanted + 64; ++draws) {
      const auto id = static_cast<std::int64_t>(rng.below(in.chunk_count));
      if (eligible(id)) {
        docs[have++] = id;
        ++random_used[i];
      }
    }
    if (have < target) {
      const std::uint64_t start = rng.below(in.chunk_count);
      for (std::size_t step = 0; step < in.chunk_count && have < target; ++step) {
        const auto id = static_cast<std::int64_t>((start + step) % in.chunk_count);
        if (eligible(id)) {
          docs[have++] = id;
          ++random_used[i];
        }
      }
    }
    if (have < target)
      throw std::invalid_argument(item_name(i) + " needs " + std::to_string(wanted) + " distractors but only " +
                                  std::to_string(have - oracle_slots) +
                                  " chunks are neither its oracle nor near-duplicates of it");
    // Shuffle, remembering where the oracles went.
    for (std::size_t d = have; d > 1; --d) std::swap(docs[d - 1], docs[rng.below(d)]);
    if (kept) {
      std::int64_t* positions = out.oracle_positions.data() + out.oracle_position_offsets[i];
      std::size_t p = 0;
      for (std::size_t d = 0; d < have; ++d)
        for (std::size_t o = 0; o < oracle_count; ++o)
          if (docs[d] == oracles[o]) positions[p++] = static_cast<std::int64_t>(d);
    }
  });
  for (std::size_t i = 0; i < n; ++i) {
    out.hard_used += hard_used[i];
    out.random_used += random_used[i];
    out.near_duplicates_skipped += skipped[i];
    out.repeated_texts_skipped += repeated[i];
  }
  return out;
}

std::vector<std::uint32_t> minhash_signatures(const std::vector<std::string_view>& texts, std::size_t size,
                                              std::size_t shingle, int threads) {
  if (size == 0 || size > 1024) throw std::invalid_argument("MinHash size must be between 1 and 1024");
  if (shingle == 0 || shingle > 64) throw std::invalid_argument("shingle length must be between 1 and 64 words");
  // One strongly mixed hash per signature entry (seeded from a fixed stream, so
  // signatures are comparable across runs); a plain multiply-shift family is not
  // min-wise independent enough and underestimates similarity.
  std::vector<std::uint64_t> seeds(size);
  util::random_stream params(0x4D494E48415348ULL);  // "MINHASH"
  for (auto& seed : seeds) seed = params.next();
  std::vector<std::uint32_t> out(texts.size() * size, 0xFFFFFFFFu);
  util::parallel_for_each(texts.size(), threads, [&](std::size_t i) {
    std::vector<std::string> words;
    text::tokenize_words(texts[i], words);
    const std::size_t span = std::min(shingle, words.size());
    std::vector<std::uint64_t> hashes;
    for (std::size_t w = 0; span > 0 && w + span <= words.size(); ++w) {
      std::uint64_t h = 14695981039346656037ULL;
      for (std::size_t t = 0; t < span; ++t) h = util::fnv1a(words[w + t], util::fnv1a("\x1f", h));
      hashes.push_back(h);
    }
    std::vector<std::uint64_t> signature(size, 0xFFFFFFFFu);
    simd::minhash_update(hashes.data(), hashes.size(), seeds.data(), signature.data(), size);
    std::copy(signature.begin(), signature.end(), out.begin() + static_cast<std::ptrdiff_t>(i * size));
  });
  return out;
}

std::vector<std::uint64_t> text_hashes(const std::vector<std::string_view>& texts, int threads) {
  std::vector<std::uint64_t> out(texts.size());
  util::parallel_for_each(texts.size(), threads, [&](std::size_t i) {
    constexpr std::uint64_t prime = 1099511628211ULL;
    std::uint64_t hash = 14695981039346656037ULL;
    bool pending_space = false, started = false;
    for (const char c : texts[i]) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x80 && text::is_python_space(byte)) {
        pending_space = started;
        continue;
      }
      if (pending_space) hash = (hash ^ ' ') * prime;
      pending_space = false;
      started = true;
      hash = (hash ^ (byte >= 'A' && byte <= 'Z' ? byte + 32 : byte)) * prime;
    }
    out[i] = util::mix64(hash);
  });
  return out;
}

}  // namespace ragtune::raft
