// RAFT assembly rules, each checked on generated input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "ragtune/raft/sampler.hpp"

namespace rf = ragtune::raft;

namespace {

struct fixture {
  std::vector<std::int64_t> oracle_offsets, oracle_ids, candidate_offsets, candidate_ids, groups, starts, ends;
  rf::sampler_input input;

  fixture(std::size_t chunks, std::size_t items) {
    for (std::size_t i = 0; i <= items; ++i) oracle_offsets.push_back(static_cast<std::int64_t>(i));
    for (std::size_t i = 0; i < items; ++i) oracle_ids.push_back(static_cast<std::int64_t>((i * 7) % chunks));
    candidate_offsets.push_back(0);
    for (std::size_t i = 0; i < items; ++i) {
      for (std::size_t c = 0; c < 10; ++c) candidate_ids.push_back(static_cast<std::int64_t>((i * 7 + c) % chunks));
      candidate_offsets.push_back(static_cast<std::int64_t>(candidate_ids.size()));
    }
    for (std::size_t c = 0; c < chunks; ++c) {
      groups.push_back(static_cast<std::int64_t>(c / 4));
      starts.push_back(static_cast<std::int64_t>((c % 4) * 100));
      ends.push_back(static_cast<std::int64_t>((c % 4) * 100 + 100));  // touching, not overlapping
    }
    input.chunk_count = chunks;
    input.item_count = items;
    input.oracle_offsets = oracle_offsets.data();
    input.oracle_ids = oracle_ids.data();
    input.candidate_offsets = candidate_offsets.data();
    input.candidate_ids = candidate_ids.data();
  }
};

TEST(raft_sampler, every_rule_holds_for_each_strategy) {
  fixture f(500, 301);
  for (auto kind : {rf::strategy::random, rf::strategy::hard, rf::strategy::mixed}) {
    rf::sampler_options options;
    options.kind = kind;
    options.seed = 42;
    const auto out = rf::assemble(f.input, options, 2);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < 301; ++i) {
      const auto first = out.document_offsets[i], last = out.document_offsets[i + 1];
      ASSERT_EQ(last - first, 5);  // k + one oracle slot, kept or replaced
      std::set<std::int64_t> docs(out.documents.begin() + first, out.documents.begin() + last);
      EXPECT_EQ(docs.size(), 5u) << "a document repeats";
      const bool has_oracle = docs.count(f.oracle_ids[i]) == 1;
      EXPECT_EQ(has_oracle, out.kept_oracle[i] == 1);
      kept += out.kept_oracle[i];
      if (has_oracle) {
        ASSERT_EQ(out.oracle_position_offsets[i + 1] - out.oracle_position_offsets[i], 1);
        EXPECT_EQ(out.documents[first + out.oracle_positions[out.oracle_position_offsets[i]]], f.oracle_ids[i]);
      }
    }
    EXPECT_EQ(kept, static_cast<std::size_t>(std::floor(0.8 * 301 + 0.5)));
  }
}

TEST(raft_sampler, output_is_identical_for_any_thread_count) {
  fixture f(300, 200);
  rf::sampler_options options;
  options.kind = rf::strategy::mixed;
  options.seed = 7;
  const auto one = rf::assemble(f.input, options, 1);
  for (int threads : {2, 0}) {
    const auto other = rf::assemble(f.input, options, threads);
    EXPECT_EQ(one.documents, other.documents);
    EXPECT_EQ(one.oracle_positions, other.oracle_positions);
  }
  options.seed = 8;
  EXPECT_NE(one.documents, rf::assemble(f.input, options, 1).documents);
}

TEST(raft_sampler, near_duplicates_of_the_oracle_are_never_distractors) {
  fixture f(40, 40);
  for (std::size_t c = 0; c < 40; ++c) f.ends[c] = f.starts[c] + 150;  // neighbours in a group now overlap
  f.input.groups = f.groups.data();
  f.input.starts = f.starts.data();
  f.input.ends = f.ends.data();
  rf::sampler_options options;
  options.kind = rf::strategy::hard;  // the candidates start right next to the oracle
  const auto out = rf::assemble(f.input, options, 1);
  for (std::size_t i = 0; i < 40; ++i) {
    const auto oracle = f.oracle_ids[i];
    for (auto d = out.document_offsets[i]; d < out.document_offsets[i + 1]; ++d) {
      const auto c = out.documents[d];
      if (c == oracle) continue;
      const bool overlaps =
          f.groups[c] == f.groups[oracle] && f.starts[c] < f.ends[oracle] && f.starts[oracle] < f.ends[c];
      EXPECT_FALSE(overlaps);
    }
  }
  EXPECT_GT(out.near_duplicates_skipped, 0u);
}

TEST(raft_sampler, one_example_never_shows_the_same_text_twice) {
  // Every fourth chunk is the same boilerplate under its own id (a footer repeated
  // across files); the oracles are all boilerplate-free.
  fixture f(200, 100);
  std::vector<std::uint64_t> hashes(200);
  for (std::size_t c = 0; c < 200; ++c) hashes[c] = c % 4 == 3 ? 0xB01E4B1A7EULL : 1000 + c;
  for (auto& oracle : f.oracle_ids)
    if (oracle % 4 == 3) --oracle;
  f.input.text_hashes = hashes.data();
  for (auto kind : {rf::strategy::random, rf::strategy::hard}) {
    rf::sampler_options options;
    options.kind = kind;
    options.distractors = 8;
    const auto out = rf::assemble(f.input, options, 2);
    for (std::size_t i = 0; i < 100; ++i) {
      std::set<std::uint64_t> texts;
      for (auto d = out.document_offsets[i]; d < out.document_offsets[i + 1]; ++d)
        EXPECT_TRUE(texts.insert(hashes[static_cast<std::size_t>(out.documents[d])]).second)
            << "example " << i << " repeats a text";
    }
    EXPECT_GT(out.repeated_texts_skipped, 0u);
  }
}

TEST(raft_sampler, minhash_flags_near_identical_texts) {
  const std::string base = "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun all day";
  const std::string longer = base + " long";
  const std::vector<std::string_view> texts{base, longer, "completely different words about kernels and memory"};
  const auto sig = rf::minhash_signatures(texts, 128, 3, 1);
  auto agree = [&](std::size_t a, std::size_t b) {
    std::size_t same = 0;
    for (std::size_t j = 0; j < 128; ++j) same += sig[a * 128 + j] == sig[b * 128 + j];
    return same / 128.0;
  };
  EXPECT_GT(agree(0, 1), 0.7);
  EXPECT_LT(agree(0, 2), 0.1);
}

TEST(raft_sampler, bad_input_is_rejected) {
  fixture f(5, 3);
  rf::sampler_options options;
  options.distractors = 10;  // more than the corpus can give
  EXPECT_THROW(rf::assemble(f.input, options, 1), std::invalid_argument);
  options.distractors = 2;
  options.oracle_probability = 1.5;
  EXPECT_THROW(rf::assemble(f.input, options, 1), std::invalid_argument);
  options.oracle_probability = 0.5;
  f.oracle_ids[0] = 99;
  EXPECT_THROW(rf::assemble(f.input, options, 1), std::invalid_argument);
}

}  // namespace

TEST(raft_sampler, a_set_assembled_in_parts_equals_the_set_assembled_whole) {
  const std::size_t items = 211;
  fixture f(400, items);
  rf::sampler_options options;
  options.kind = rf::strategy::mixed;
  options.seed = 9;
  const auto whole = rf::assemble(f.input, options, 2);
  // Three uneven parts, as partitions on different workers would hold them.
  const std::size_t bounds[] = {0, 50, 51, items};
  for (std::size_t p = 0; p < 3; ++p) {
    const std::size_t first = bounds[p], count = bounds[p + 1] - first;
    std::vector<std::int64_t> offsets, ids, c_offsets, c_ids, positions;
    offsets.push_back(0);
    c_offsets.push_back(0);
    for (std::size_t i = first; i < first + count; ++i) {
      positions.push_back(static_cast<std::int64_t>(i));
      for (auto k = f.oracle_offsets[i]; k < f.oracle_offsets[i + 1]; ++k) ids.push_back(f.oracle_ids[k]);
      offsets.push_back(static_cast<std::int64_t>(ids.size()));
      for (auto k = f.candidate_offsets[i]; k < f.candidate_offsets[i + 1]; ++k) c_ids.push_back(f.candidate_ids[k]);
      c_offsets.push_back(static_cast<std::int64_t>(c_ids.size()));
    }
    rf::sampler_input part = f.input;
    part.item_count = count;
    part.oracle_offsets = offsets.data();
    part.oracle_ids = ids.data();
    part.candidate_offsets = c_offsets.data();
    part.candidate_ids = c_ids.data();
    part.item_positions = positions.data();
    part.total_items = items;
    const auto out = rf::assemble(part, options, 1);
    for (std::size_t j = 0; j < count; ++j) {
      const std::size_t i = first + j;
      EXPECT_EQ(out.kept_oracle[j], whole.kept_oracle[i]);
      const std::vector<std::int64_t> got(out.documents.begin() + out.document_offsets[j],
                                          out.documents.begin() + out.document_offsets[j + 1]);
      const std::vector<std::int64_t> want(whole.documents.begin() + whole.document_offsets[i],
                                           whole.documents.begin() + whole.document_offsets[i + 1]);
      EXPECT_EQ(got, want) << "item " << i;
    }
  }
  std::vector<std::int64_t> descending = {5, 3};
  rf::sampler_input bad = f.input;
  bad.item_count = 2;
  bad.item_positions = descending.data();
  bad.total_items = items;
  EXPECT_THROW(rf::assemble(bad, options, 1), std::invalid_argument);
}
