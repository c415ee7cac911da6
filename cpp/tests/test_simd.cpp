// Every kernel on every ISA this CPU runs, against a scalar reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ragtune/simd/isa.hpp"
#include "ragtune/simd/text_kernels.hpp"

namespace simd = ragtune::simd;

namespace {

std::vector<std::uint8_t> random_bytes(std::size_t n, unsigned seed, int alphabet) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, alphabet - 1);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(pick(rng) == 0 ? 0x80 + pick(rng) % 64 : 'a' + pick(rng) % 3);
  return out;
}

class every_isa : public ::testing::TestWithParam<simd::isa> {
 protected:
  void SetUp() override { simd::force_isa(GetParam()); }
  void TearDown() override { simd::reset_isa(); }
};

TEST_P(every_isa, counts_match_scalar_reference) {
  for (std::size_t n : {0, 1, 15, 16, 63, 64, 65, 1000, 70000}) {
    const auto data = random_bytes(n, static_cast<unsigned>(n), 5);
    std::size_t codepoints = 0, a_count = 0;
    bool ascii = true;
    for (auto b : data) {
      codepoints += (b & 0xC0) != 0x80;
      a_count += b == 'a';
      ascii = ascii && b < 0x80;
    }
    EXPECT_EQ(simd::count_codepoints(data.data(), n), codepoints) << n;
    EXPECT_EQ(simd::count_byte(data.data(), n, 'a'), a_count) << n;
    EXPECT_EQ(simd::is_ascii(data.data(), n), ascii) << n;
  }
}

TEST_P(every_isa, find_all_matches_scalar_reference) {
  const auto data = random_bytes(5000, 7, 3);
  for (std::string needle : {"a", "ab", "aba", "abcab", "\x80"}) {
    std::vector<std::size_t> expected;
    for (std::size_t i = 0; i + needle.size() <= data.size(); ++i)
      if (std::memcmp(needle.data(), data.data() + i, needle.size()) == 0) expected.push_back(i);
    std::vector<std::size_t> got(data.size());
    got.resize(simd::find_all(data.data(), data.size(), reinterpret_cast<const std::uint8_t*>(needle.data()),
                              needle.size(), got.data(), got.size()));
    EXPECT_EQ(got, expected) << needle;
  }
}

TEST_P(every_isa, find_all_stops_at_capacity) {
  const std::string hay(100, 'x');
  std::size_t out[3];
  EXPECT_EQ(simd::find_all(reinterpret_cast<const std::uint8_t*>(hay.data()), hay.size(),
                           reinterpret_cast<const std::uint8_t*>("x"), 1, out, 3),
            3u);
  EXPECT_EQ(out[2], 2u);
}

INSTANTIATE_TEST_SUITE_P(simd, every_isa, ::testing::ValuesIn(simd::available_isas()),
                         [](const auto& info) { return std::string(simd::isa_name(info.param)); });

TEST(isa, parse_rejects_unknown_names) { EXPECT_THROW(simd::parse_isa("neon"), std::invalid_argument); }

}  // namespace
