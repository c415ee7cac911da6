#include "ragtune/text/hashing_embedder.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "ragtune/simd/vector_kernels.hpp"
#include "ragtune/text/word_tokenizer.hpp"
#include "ragtune/util/hash.hpp"
#include "ragtune/util/parallel.hpp"

namespace ragtune::text {
namespace {

using util::fnv1a;  // tiny, stable, and good enough to spread words over buckets

void add_feature(std::uint64_t hash, float* row, std::size_t dim) noexcept {
  row[hash % dim] += (hash >> 63) ? -1.0f : 1.0f;
}

}  // namespace

void hash_embed(const std::vector<std::string_view>& texts, std::size_t dim, bool bigrams, float* out, int threads) {
  ragtune::util::parallel_for_each(texts.size(), threads, [&](std::size_t i) {
    float* row = out + i * dim;
    std::memset(row, 0, dim * sizeof(float));
    std::vector<std::string> tokens;
    tokenize_words(texts[i], tokens);
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      const std::uint64_t h = fnv1a(tokens[t]);
      add_feature(h, row, dim);
      if (bigrams && t + 1 < tokens.size()) add_feature(fnv1a(tokens[t + 1], fnv1a(" ", h)), row, dim);
    }
    float squared = 0;
    simd::dot_block(row, 1, row, 1, dim, &squared, 1);
    if (squared > 0) {
      const float scale = 1.0f / std::sqrt(squared);
      for (std::size_t j = 0; j < dim; ++j) row[j] *= scale;
    }
  });
}

}  // namespace ragtune::text
