#include "ragtune/index/bm25.hpp"

#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

#include <unistd.h>

#include "ragtune/io/files.hpp"
#include "ragtune/text/word_tokenizer.hpp"
#include "ragtune/util/parallel.hpp"
#include "top_k.hpp"

namespace ragtune::index {
namespace {

constexpr char bm25_magic[8] = {'R', 'A', 'G', 'T', 'B', 'M', '2', '5'};
constexpr std::uint64_t max_slots = std::numeric_limits<std::uint32_t>::max();

}  // namespace

bm25_index::bm25_index(bm25_params params, std::vector<std::string> stopwords)
    : params_(params), stopwords_(stopwords.begin(), stopwords.end()) {
  if (!(params_.k1 >= 0) || !std::isfinite(params_.k1)) throw std::invalid_argument("k1 must be a number >= 0");
  if (!(params_.b >= 0 && params_.b <= 1)) throw std::invalid_argument("b must be between 0 and 1");
}

std::size_t bm25_index::size() const {
  std::shared_lock lock(mutex_);
  return live_;
}

std::size_t bm25_index::vocabulary_size() const {
  std::shared_lock lock(mutex_);
  return terms_.size();
}

std::vector<std::string> bm25_index::tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  text::tokenize_words(text, tokens);
  if (!stopwords_.empty())
    tokens.erase(
        std::remove_if(tokens.begin(), tokens.end(), [&](const std::string& t) { return stopwords_.count(t); }),
        tokens.end());
  return tokens;
}

void bm25_index::put(const std::vector<std::string_view>& texts, const std::int64_t* slots, int threads) {
  // Tokenising is the expensive part and needs no lock.
  std::vector<std::vector<std::string>> tokens(texts.size());
  ragtune::util::parallel_for_each(texts.size(), threads, [&](std::size_t i) { tokens[i] = tokenize(texts[i]); });
  put_tokens(tokens, slots);
}

void bm25_index::put_tokens(const std::vector<std::vector<std::string>>& documents, const std::int64_t* slots) {
  std::unique_lock lock(mutex_);
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (slots[i] < 0 || static_cast<std::uint64_t>(slots[i]) >= max_slots)
      throw std::invalid_argument("slot numbers must be in [0, 2^32 - 1)");
    std::vector<std::string> tokens = documents[i];
    std::sort(tokens.begin(), tokens.end());
    std::vector<std::pair<std::string, std::uint32_t>> counts;
    for (std::size_t a = 0; a < tokens.size();) {
      std::size_t z = a;
      while (z < tokens.size() && tokens[z] == tokens[a]) ++z;
      counts.emplace_back(tokens[a], static_cast<std::uint32_t>(z - a));
      a = z;
    }
    put_locked(counts, static_cast<std::uint32_t>(tokens.size()), static_cast<std::size_t>(slots[i]));
  }
  if (stale_postings_ > 1024 && stale_postings_ > total_length_) compact_locked();
}

void bm25_index::put_locked(const std::vector<std::pair<std::string, std::uint32_t>>& counts, std::uint32_t length,
                            std::size_t slot) {
  if (slot >= alive_.size()) {
    const std::size_t size = std::max(slot + 1, alive_.size() * 2);
    alive_.resize(size);
    length_.resize(size, 0);
    generation_.resize(size, 0);
    document_terms_.resize(size);
  }
  remove_locked(slot);
  ++generation_[slot];
  for (const auto& [token, tf] : counts) {
    auto [it, inserted] = vocabulary_.try_emplace(token, static_cast<std::uint32_t>(terms_.size()));
    if (inserted) {
      terms_.push_back(token);
      postings_.emplace_back();
      document_frequency_.push_back(0);
    }
    const std::uint32_t term = it->second;
    postings_[term].push_back({static_cast<std::uint32_t>(slot), tf, generation_[slot]});
    ++document_frequency_[term];
    document_terms_[slot].emplace_back(term, tf);
  }
  length_[slot] = length;
  total_length_ += length;
  alive_.set(slot);
  ++live_;
}

void bm25_index::remove(const std::int64_t* slots, std::size_t n) {
  std::unique_lock lock(mutex_);
  for (std::size_t i = 0; i < n; ++i)
    if (slots[i] >= 0) remove_locked(static_cast<std::size_t>(slots[i]));
  if (stale_postings_ > 1024 && stale_postings_ > total_length_) compact_locked();
}

void bm25_index::remove_locked(std::size_t slot) {
  if (!alive_.test(slot)) return;
  // Postings stay in place until compaction; the generation marks them stale.
  for (const auto& [term, tf] : document_terms_[slot]) --document_frequency_[term];
  stale_postings_ += document_terms_[slot].size();
  document_terms_[slot].clear();
  total_length_ -= length_[slot];
  length_[slot] = 0;
  ++generation_[slot];
  alive_.reset(slot);
  --live_;
}

void bm25_index::compact_locked() {
  for (auto& list : postings_)
    list.erase(
        std::remove_if(list.begin(), list.end(),
                       [&](const posting& p) { return !alive_.test(p.slot) || generation_[p.slot] != p.generation; }),
        list.end());
  stale_postings_ = 0;
}

corpus_statistics bm25_index::statistics(const std::vector<std::string>& terms) const {
  std::shared_lock lock(mutex_);
  corpus_statistics out;
  out.documents = live_;
  out.total_length = total_length_;
  for (const auto& term : terms) {
    const auto found = vocabulary_.find(term);
    out.document_frequency[term] = found == vocabulary_.end() ? 0 : document_frequency_[found->second];
  }
  return out;
}

search_results bm25_index::search(const std::vector<std::string_view>& queries, std::size_t k, const bitset* filter,
                                  int threads) const {
  std::vector<std::vector<std::string>> tokens(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) tokens[i] = tokenize(queries[i]);
  return search_tokens(tokens, k, filter, threads);
}

search_results bm25_index::search_tokens(const std::vector<std::vector<std::string>>& queries, std::size_t k,
                                         const bitset* filter, int threads, const corpus_statistics* corpus) const {
  if (corpus != nullptr && corpus->documents == 0)
    throw std::invalid_argument("the corpus statistics count no documents");
  std::shared_lock lock(mutex_);
  // A corpus holds this index: statistics smaller than its own are not of a corpus it belongs to.
  if (corpus != nullptr && (corpus->documents < live_ || corpus->total_length < total_length_))
    throw std::invalid_argument("the corpus statistics (" + std::to_string(corpus->documents) + " documents, " +
                                std::to_string(corpus->total_length) + " tokens) are smaller than this index's own (" +
                                std::to_string(live_) + ", " + std::to_string(total_length_) + ")");
  std::vector<std::vector<std::uint32_t>> ids(queries.size());
  std::vector<std::vector<double>> frequencies(corpus != nullptr ? queries.size() : 0);
  for (std::size_t q = 0; q < queries.size(); ++q)
    for (const auto& token : queries[q]) {
      if (corpus != nullptr && corpus->document_frequency.find(token) == corpus->document_frequency.end())
        throw std::invalid_argument("the corpus statistics lack the query term '" + token + "'");
      const auto found = vocabulary_.find(token);
      if (found == vocabulary_.end()) continue;
      ids[q].push_back(found->second);  // repeated terms count again, as in bm25s
      if (corpus != nullptr) {
        const std::uint64_t df = corpus->document_frequency.at(token);
        if (df < document_frequency_[found->second] || df > corpus->documents)
          throw std::invalid_argument("the corpus statistics give '" + token + "' a document frequency of " +
                                      std::to_string(df) + ", outside [" +
                                      std::to_string(document_frequency_[found->second]) + ", " +
                                      std::to_string(corpus->documents) + "]");
        frequencies[q].push_back(static_cast<double>(df));
      }
    }
  return search_ids(ids, k, filter, threads, corpus, frequencies);
}

search_results bm25_index::search_ids(const std::vector<std::vector<std::uint32_t>>& queries, std::size_t k,
                                      const bitset* filter, int threads, const corpus_statistics* corpus,
                                      const std::vector<std::vector<double>>& frequencies) const {
  const std::size_t nq = queries.size();
  search_results r = search_results::empty(nq, k);
  if (live_ == 0 || k == 0) return r;
  // The same arithmetic whether the statistics are this index's or the corpus's, so a
  // shard given the corpus's numbers computes the very floats one index would.
  const double n = static_cast<double>(corpus != nullptr ? corpus->documents : live_);
  const double total = static_cast<double>(corpus != nullptr ? corpus->total_length : total_length_);
  const float average_length = static_cast<float>(total / n);
  const float k1 = params_.k1;
  const float b = params_.b;
  struct scratch {
    std::vector<float> scores;
    std::vector<std::uint32_t> touched;
  };
  tbb::enumerable_thread_specific<scratch> locals([&] { return scratch{std::vector<float>(alive_.size(), 0.0f), {}}; });
  ragtune::util::parallel_for_each(nq, threads, [&](std::size_t q) {
    scratch& local = locals.local();
    for (std::size_t i = 0; i < queries[q].size(); ++i) {
      const std::uint32_t term = queries[q][i];
      if (document_frequency_[term] == 0) continue;  // no live document here holds it
      const double df = corpus != nullptr ? frequencies[q][i] : document_frequency_[term];
      const float idf = static_cast<float>(std::log(1.0 + (n - df + 0.5) / (df + 0.5)));
      for (const posting& p : postings_[term]) {
        if (generation_[p.slot] != p.generation || !alive_.test(p.slot)) continue;
        if (filter && !filter->test(p.slot)) continue;
        const float tf = static_cast<float>(p.tf);
        const float norm = k1 * (1 - b + b * static_cast<float>(length_[p.slot]) / average_length);
        if (local.scores[p.slot] == 0.0f) local.touched.push_back(p.slot);
        local.scores[p.slot] += idf * tf / (tf + norm);
      }
    }
    top_k best(k);
    for (std::uint32_t slot : local.touched) {
      if (local.scores[slot] > 0.0f) best.push(local.scores[slot], slot);
      local.scores[slot] = 0.0f;
    }
    local.touched.clear();
    const auto sorted = best.sorted();
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      r.scores[q * k + i] = sorted[i].score;
      r.slots[q * k + i] = sorted[i].slot;
    }
  });
  return r;
}

// File: magic, u64 version, f32 k1, f32 b, u64 stopword count + (u32 length, bytes)...,
// u64 slot count, then per live slot: u32 slot, u32 token count, u32 distinct terms,
// (u32 term length, bytes, u32 tf)... Only live content is written; loading re-indexes it.
std::size_t bm25_index::memory_bytes() const {
  std::shared_lock lock(mutex_);
  auto text = [](const std::string& t) { return sizeof(std::string) + (t.capacity() > 15 ? t.capacity() + 1 : 0); };
  // An unordered_map node holds the pair, a next pointer and the cached hash; plus one bucket pointer each.
  constexpr std::size_t node = 2 * sizeof(void*);
  std::size_t bytes = vocabulary_.bucket_count() * sizeof(void*) + stopwords_.bucket_count() * sizeof(void*);
  for (const auto& [term, id] : vocabulary_) bytes += node + text(term) + sizeof(id);
  for (const auto& word : stopwords_) bytes += node + text(word);
  for (const auto& term : terms_) bytes += text(term);
  for (const auto& list : postings_) bytes += sizeof(list) + list.capacity() * sizeof(posting);
  for (const auto& terms : document_terms_) bytes += sizeof(terms) + terms.capacity() * sizeof(terms[0]);
  bytes += (document_frequency_.capacity() + length_.capacity() + generation_.capacity()) * sizeof(std::uint32_t);
  return bytes;
}

void bm25_index::save(const std::string& path) const {
  std::shared_lock lock(mutex_);
  std::string out(bm25_magic, sizeof(bm25_magic));
  auto put_u32 = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  auto put_u64 = [&](std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  auto put_str = [&](const std::string& s) {
    put_u32(static_cast<std::uint32_t>(s.size()));
    out += s;
  };
  put_u64(1);
  out.append(reinterpret_cast<const char*>(&params_.k1), sizeof(float));
  out.append(reinterpret_cast<const char*>(&params_.b), sizeof(float));
  put_u64(stopwords_.size());
  std::vector<std::string> stops(stopwords_.begin(), stopwords_.end());
  std::sort(stops.begin(), stops.end());
  for (const auto& s : stops) put_str(s);
  put_u64(live_);
  alive_.for_each([&](std::size_t slot) {
    put_u32(static_cast<std::uint32_t>(slot));
    put_u32(length_[slot]);
    put_u32(static_cast<std::uint32_t>(document_terms_[slot].size()));
    for (const auto& [term, tf] : document_terms_[slot]) {
      put_str(terms_[term]);
      put_u32(tf);
    }
  });
  std::FILE* f = io::open_file(path, "wb");
  try {
    io::write_all(f, out.data(), out.size(), path);
  } catch (...) {
    std::fclose(f);
    throw;
  }
  io::sync_and_close(f, path);
}

std::unique_ptr<bm25_index> bm25_index::load(const std::string& path, std::size_t slot_limit) {
  std::FILE* f = io::open_file(path, "rb");
  std::string data;
  char buffer[65536];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof(buffer), f)) > 0;) data.append(buffer, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) io::throw_io_error("cannot read", path);
  std::size_t at = 0;
  auto bad = [&](const std::string& what) {
    return io::format_error(path + " is not a valid ragtune BM25 file: " + what);
  };
  auto take = [&](void* dst, std::size_t n) {
    if (n > data.size() - at) throw bad("truncated");
    std::memcpy(dst, data.data() + at, n);
    at += n;
  };
  auto u32 = [&] {
    std::uint32_t v;
    take(&v, 4);
    return v;
  };
  auto u64 = [&] {
    std::uint64_t v;
    take(&v, 8);
    return v;
  };
  auto str = [&] {
    const std::uint32_t n = u32();
    if (n > data.size() - at) throw bad("truncated string");
    std::string s = data.substr(at, n);
    at += n;
    return s;
  };
  char magic[8];
  take(magic, 8);
  if (std::memcmp(magic, bm25_magic, 8) != 0) throw bad("wrong magic bytes");
  if (u64() != 1) throw bad("unsupported version");
  bm25_params params;
  take(&params.k1, 4);
  take(&params.b, 4);
  const std::uint64_t stop_count = u64();
  if (stop_count > data.size()) throw bad("stopword count out of range");
  std::vector<std::string> stops;
  for (std::uint64_t i = 0; i < stop_count; ++i) stops.push_back(str());
  std::unique_ptr<bm25_index> index;
  try {
    index = std::make_unique<bm25_index>(params, std::move(stops));
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  const std::uint64_t documents = u64();
  if (documents > data.size()) throw bad("document count out of range");
  std::unique_lock lock(index->mutex_);
  for (std::uint64_t d = 0; d < documents; ++d) {
    const std::uint32_t slot = u32();
    const std::uint32_t length = u32();
    const std::uint32_t distinct = u32();
    if (slot >= max_slots || slot >= slot_limit) throw bad("a slot is out of range (" + std::to_string(slot) + ")");
    if (index->alive_.test(slot)) throw bad("a slot is repeated");
    if (distinct > data.size() - at) throw bad("term count out of range");
    std::vector<std::pair<std::string, std::uint32_t>> counts;
    std::uint64_t total = 0;
    for (std::uint32_t t = 0; t < distinct; ++t) {
      std::string term = str();
      const std::uint32_t tf = u32();
      total += tf;
      if (tf == 0 || total > length) throw bad("term frequencies exceed the document length");
      counts.emplace_back(std::move(term), tf);
    }
    if (total != length) throw bad("term frequencies do not add up to the document length");
    index->put_locked(counts, length, slot);
  }
  if (at != data.size()) throw bad("trailing bytes");
  return index;
}

}  // namespace ragtune::index
