// The one-tensor merge against a double-precision reference, and the checkpoint writer
// read back by the validating reader, on every ISA the CPU has.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>

#include "ragtune/io/checkpoint.hpp"
#include "ragtune/io/checkpoint_writer.hpp"
#include "ragtune/lora/merge.hpp"
#include "ragtune/lora/merge_writer.hpp"
#include "ragtune/simd/isa.hpp"
#include "ragtune/simd/vector_kernels.hpp"

namespace rio = ragtune::io;
namespace lora = ragtune::lora;
namespace simd = ragtune::simd;

namespace {

std::vector<float> random_floats(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (auto& v : out) v = normal(rng);
  return out;
}

std::vector<float> merged(const std::vector<float>& base, std::size_t rows, std::size_t cols,
                          const lora::tensor_update& update, int threads) {
  std::vector<float> out;
  lora::merge_tensor("w", reinterpret_cast<const std::uint8_t*>(base.data()), rio::dtype::f32, rows, cols, update,
                     rio::dtype::f32, threads, [&](const std::uint8_t* bytes, std::size_t size) {
                       const auto* values = reinterpret_cast<const float*>(bytes);
                       out.insert(out.end(), values, values + size / sizeof(float));
                     });
  return out;
}

struct isa_guard {
  ~isa_guard() { simd::reset_isa(); }
};

}  // namespace

TEST(LoraMerge, LowRankTermsAndDenseDeltaMatchDoublePrecision) {
  isa_guard guard;
  // Odd sizes: every vector tail and the 4-row blocking remainder are exercised; many rows span blocks.
  const std::size_t rows = 1037, cols = 4133, r1 = 3, r2 = 16;
  const auto base = random_floats(rows * cols, 1);
  const auto b1 = random_floats(rows * r1, 2), a1 = random_floats(r1 * cols, 3);
  const auto b2 = random_floats(rows * r2, 4), a2 = random_floats(r2 * cols, 5);
  const auto dense = random_floats(rows * cols, 6, 0.1f);
  lora::tensor_update update;
  update.terms = {{b1.data(), a1.data(), r1, 0.5f}, {b2.data(), a2.data(), r2, -2.0f}};
  update.dense = dense.data();
  for (auto isa : simd::available_isas()) {
    simd::force_isa(isa);
    for (int threads : {1, 2}) {
      const auto out = merged(base, rows, cols, update, threads);
      ASSERT_EQ(out.size(), rows * cols);
      for (std::size_t i = 0; i < rows; i += 97) {
        for (std::size_t j = 0; j < cols; j += 13) {
          double d1 = 0, d2 = 0, size = std::fabs(base[i * cols + j]) + std::fabs(dense[i * cols + j]);
          for (std::size_t k = 0; k < r1; ++k) d1 += double(b1[i * r1 + k]) * a1[k * cols + j];
          for (std::size_t k = 0; k < r2; ++k) d2 += double(b2[i * r2 + k]) * a2[k * cols + j];
          for (std::size_t k = 0; k < r2; ++k) size += 2 * std::fabs(double(b2[i * r2 + k]) * a2[k * cols + j]);
          const double expected = base[i * cols + j] + 0.5 * d1 - 2.0 * d2 + dense[i * cols + j];
          ASSERT_NEAR(out[i * cols + j], expected, 1e-5 * size + 1e-6) << simd::isa_name(isa) << " " << i << "," << j;
        }
      }
    }
  }
}

TEST(LoraMerge, IdenticalOnEveryThreadCount) {
  const std::size_t rows = 300, cols = 129, rank = 5;
  const auto base = random_floats(rows * cols, 7), b = random_floats(rows * rank, 8), a = random_floats(rank * cols, 9);
  lora::tensor_update update;
  update.terms = {{b.data(), a.data(), rank, 1.5f}};
  EXPECT_EQ(merged(base, rows, cols, update, 1), merged(base, rows, cols, update, 2));
  // DoRA over columns sums every row into each column's norm: the sum's order must not
  // follow the threads (the merge-writer fuzzer found it did, by a few ulps, when the
  // tasks finished out of order; tests/fuzz/corpus/merge_writer/regression-* replays it).
  // Values spread over many magnitudes make a different order of the double sums show in the float norms.
  std::vector<float> spread = random_floats(rows * cols, 11);
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> exponent(-12.0f, 12.0f);
  for (auto& v : spread) v *= std::exp2(exponent(rng));
  const auto magnitude = random_floats(cols, 10);
  update.magnitude = magnitude.data();
  update.magnitude_size = cols;
  update.magnitude_per_column = true;
  const auto one = merged(spread, rows, cols, update, 1);
  for (int threads : {2, 3, 4})
    for (int repeat = 0; repeat < 5; ++repeat) EXPECT_EQ(one, merged(spread, rows, cols, update, threads));
}

TEST(LoraMerge, DoraRescalesRowsOrColumnsToTheMagnitude) {
  const std::size_t rows = 40, cols = 33, rank = 2;
  const auto base = random_floats(rows * cols, 10), b = random_floats(rows * rank, 11),
             a = random_floats(rank * cols, 12);
  for (bool per_column : {false, true}) {
    const auto magnitude = random_floats(per_column ? cols : rows, 13);
    lora::tensor_update update;
    update.terms = {{b.data(), a.data(), rank, 1.0f}};
    update.magnitude = magnitude.data();
    update.magnitude_per_column = per_column;
    const auto out = merged(base, rows, cols, update, 2);
    // After DoRA, every row (or column) has the magnitude's absolute value as its norm.
    for (std::size_t g = 0; g < (per_column ? cols : rows); ++g) {
      double squares = 0;
      for (std::size_t e = 0; e < (per_column ? rows : cols); ++e) {
        const float v = per_column ? out[e * cols + g] : out[g * cols + e];
        squares += double(v) * v;
      }
      EXPECT_NEAR(std::sqrt(squares), std::fabs(magnitude[g]), 1e-5 * (1 + std::fabs(magnitude[g])));
    }
  }
}

TEST(LoraMerge, NonFiniteResultsAreRefusedWhenAsked) {
  const std::vector<float> base = {1.0f, 2.0f, 60000.0f, 4.0f};
  const std::vector<float> b = {1.0f, 1.0f}, a = {10000.0f, 0.0f};  // pushes 60000 past the F16 range
  lora::tensor_update update;
  update.terms = {{b.data(), a.data(), 1, 1.0f}};
  update.require_finite = true;
  auto run = [&] {
    lora::merge_tensor("x.weight", reinterpret_cast<const std::uint8_t*>(base.data()), rio::dtype::f32, 2, 2, update,
                       rio::dtype::f16, 1, [](const std::uint8_t*, std::size_t) {});
  };
  EXPECT_THROW(run(), std::domain_error);
  update.require_finite = false;
  EXPECT_NO_THROW(run());
  EXPECT_THROW(lora::merge_tensor("ids", reinterpret_cast<const std::uint8_t*>(base.data()), rio::dtype::i32, 2, 2,
                                  update, rio::dtype::f32, 1, [](const std::uint8_t*, std::size_t) {}),
               std::invalid_argument);
}

TEST(CheckpointWriter, ShardsReadBackThroughTheValidatingReader) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("ragtune-writer-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const auto big = random_floats(5000, 14), small = random_floats(7, 15);
  {
    rio::checkpoint_writer writer(
        (root / "ck").string(),
        {{"big", rio::dtype::f32, {50, 100}}, {"small", rio::dtype::f32, {7}}, {"ids", rio::dtype::i64, {3}}}, 15000);
    EXPECT_EQ(writer.shard_count(), 2u);
    const std::int64_t ids[3] = {1, 2, 3};
    for (const auto& name : writer.file_order()) {
      if (name == "big") {
        writer.append(name, big.data(), 8000);  // in pieces
        writer.append(name, reinterpret_cast<const std::uint8_t*>(big.data()) + 8000, big.size() * 4 - 8000);
      } else if (name == "small") {
        writer.append(name, small.data(), small.size() * 4);
      } else {
        writer.append(name, ids, sizeof(ids));
      }
    }
    EXPECT_THROW(writer.append("ids", ids, 1), std::length_error);
    writer.commit();
  }
  const auto checkpoint = rio::checkpoint::open((root / "ck").string());
  EXPECT_EQ(checkpoint.shard_names().size(), 2u);
  EXPECT_EQ(std::memcmp(checkpoint.bytes("big"), big.data(), big.size() * 4), 0);
  EXPECT_EQ(std::memcmp(checkpoint.bytes("small"), small.data(), small.size() * 4), 0);
  fs::remove_all(root);
}

TEST(MergeWriter, StreamsCopiesConversionsAndMergesIntoACheckpoint) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("ragtune-merge-writer-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::size_t rows = 6, cols = 5, rank = 2;
  const auto weight = random_floats(rows * cols, 21), left = random_floats(rows * rank, 22);
  const auto right = random_floats(rank * cols, 23), bias = random_floats(cols, 24);
  {
    rio::checkpoint_writer base((root / "base").string(),
                                {{"w", rio::dtype::f32, {rows, cols}}, {"b", rio::dtype::f32, {cols}}}, 1 << 20);
    base.append("w", weight.data(), weight.size() * 4);
    base.append("b", bias.data(), bias.size() * 4);
    base.commit();
  }
  const auto source = rio::checkpoint::open((root / "base").string());
  lora::tensor_update update;
  update.terms.push_back({left.data(), right.data(), rank, 0.5f, rows, cols});
  lora::tensor_update wrong = update;
  wrong.terms[0].cols = cols + 1;
  {
    lora::merge_writer writer(std::make_unique<rio::checkpoint_writer>(
        (root / "out").string(),
        std::vector<rio::planned_tensor>{{"w", rio::dtype::f32, {rows, cols}}, {"b", rio::dtype::bf16, {cols}}},
        1 << 20));
    EXPECT_THROW(writer.merge("w", source, "w", wrong, 1), std::invalid_argument);  // names both shapes
    writer.merge("w", source, "w", update, 1);
    EXPECT_THROW(writer.merge("w", source, "w", update, 1), std::invalid_argument);  // already written
    writer.copy("b", source, "b");                                                   // F32 -> BF16, rounded once
    writer.commit();
  }
  const auto out = rio::checkpoint::open((root / "out").string());
  const auto* result = reinterpret_cast<const float*>(out.bytes("w"));
  EXPECT_EQ(merged(weight, rows, cols, update, 1), std::vector<float>(result, result + rows * cols));
  std::vector<std::uint16_t> expected(cols);
  simd::narrow_16(bias.data(), expected.data(), cols, true);
  EXPECT_EQ(std::memcmp(out.bytes("b"), expected.data(), cols * 2), 0);
  // Windows of 16 bytes (one row of w, pieces of b) write the same bytes.
  {
    lora::merge_writer small(
        std::make_unique<rio::checkpoint_writer>(
            (root / "small").string(),
            std::vector<rio::planned_tensor>{{"w", rio::dtype::f32, {rows, cols}}, {"b", rio::dtype::bf16, {cols}}},
            1 << 20),
        16);
    small.merge("w", source, "w", update, 2);
    small.copy("b", source, "b");
    small.commit();
  }
  const auto windows = rio::checkpoint::open((root / "small").string());
  EXPECT_EQ(std::memcmp(windows.bytes("w"), out.bytes("w"), rows * cols * 4), 0);
  EXPECT_EQ(std::memcmp(windows.bytes("b"), out.bytes("b"), cols * 2), 0);
  EXPECT_THROW(lora::merge_writer(std::make_unique<rio::checkpoint_writer>((root / "zero").string(),
                                                                           std::vector<rio::planned_tensor>{}, 1 << 20),
                                  0),
               std::invalid_argument);
  fs::remove_all(root);
}
