/// @file
/// @brief Fuzzes the streaming merge writer: a base checkpoint of any float type and
///        shape, streamed in windows as small as 16 bytes, merged with
///        low-rank terms, a dense delta and a DoRA magnitude the input chooses (values
///        raw bits: NaN, infinity and denormals included), written as any float type.
///        What it writes must equal lora::merge_tensor on the same bytes (one window, one
///        thread), byte for byte, whatever the windows and threads;
///        a refused merge must leave the tensor rewound so a retry writes it whole.

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz_input.hpp"
#include "ragtune/io/checkpoint.hpp"
#include "ragtune/io/checkpoint_writer.hpp"
#include "ragtune/lora/merge.hpp"
#include "ragtune/lora/merge_writer.hpp"

using namespace ragtune;
namespace fs = std::filesystem;

namespace {

constexpr io::dtype float_types[] = {io::dtype::f32, io::dtype::f16, io::dtype::bf16};

/// @brief @p count bytes cycling through the payload (a fixed pattern when it is empty).
std::vector<std::uint8_t> fill(std::string_view payload, std::size_t count, std::size_t skew) {
  std::vector<std::uint8_t> out(count);
  for (std::size_t i = 0; i < count; ++i)
    out[i] = payload.empty() ? static_cast<std::uint8_t>(i * 37 + skew)
                             : static_cast<std::uint8_t>(payload[(i + skew) % payload.size()] ^ (i >> 12));
  return out;
}

/// @brief @p count floats from the payload's bits; the low exponent byte is tamed when
///        @p finite, so sums of products stay in range and the merge is accepted.
std::vector<float> floats(std::string_view payload, std::size_t count, std::size_t skew, bool finite) {
  auto bytes = fill(payload, count * sizeof(float), skew);
  std::vector<float> out(count);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  if (finite)
    for (auto& v : out) v = v == v && v - v == 0.0f && v < 64.0f && v > -64.0f ? v : 0.5f;
  return out;
}

std::vector<std::uint8_t> merged_in_memory(const std::vector<std::uint8_t>& base, io::dtype base_type,
                                           std::uint64_t rows, std::uint64_t cols, const lora::tensor_update& update,
                                           io::dtype out_type) {
  std::vector<std::uint8_t> out;
  lora::merge_tensor("w", base.data(), base_type, rows, cols, update, out_type, 1,
                     [&](const std::uint8_t* bytes, std::size_t size) { out.insert(out.end(), bytes, bytes + size); });
  return out;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    // Memory-backed where the system has it: every commit fsyncs, which a disk makes the slowest step.
    char in_memory[] = "/dev/shm/ragtune-fuzz-merge-XXXXXX";
    char on_disk[] = "/tmp/ragtune-fuzz-merge-XXXXXX";
    const char* name = ::mkdtemp(in_memory);
    if (name == nullptr) name = ::mkdtemp(on_disk);
    if (name == nullptr) std::abort();
    path = name;
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input in(data, size);
  // Windows of 16..4080 bytes cross many windows with small tensors; 0 keeps the default (one window).
  const std::uint8_t window_byte = in.byte();
  const std::uint64_t block_bytes = window_byte == 0 ? lora::default_block_bytes : 16u * window_byte;
  const std::uint64_t rows = 1 + in.u16() % 128;
  const std::uint64_t cols = 1 + in.byte() % 64;
  const io::dtype base_type = float_types[in.byte() % 3];
  const io::dtype out_type = float_types[in.byte() % 3];
  const std::uint8_t flags = in.byte();
  const std::size_t terms = flags & 3;
  const bool dense = (flags & 4) != 0, magnitude = (flags & 8) != 0, per_column = (flags & 16) != 0;
  const bool finite = (flags & 32) != 0, misfit = (flags & 64) != 0, threads = (flags & 128) != 0;
  const std::size_t rank = 1 + in.byte() % 8;
  const std::string_view payload = in.rest();

  const auto base = fill(payload, rows * cols * io::dtype_size(base_type), 0);
  std::vector<std::vector<float>> lefts, rights;
  lora::tensor_update update;
  update.require_finite = !finite;  // raw bits: a non-finite result must be refused and rewound
  for (std::size_t t = 0; t < terms; ++t) {
    lefts.push_back(floats(payload, rows * rank, 11 * (t + 1), finite));
    rights.push_back(floats(payload, rank * cols, 17 * (t + 1), finite));
    update.terms.push_back({lefts.back().data(), rights.back().data(), rank, 0.25f, rows, cols});
  }
  if (misfit && !update.terms.empty()) update.terms[0].cols = cols + 1;
  const auto delta = floats(payload, rows * cols, 23, finite);
  if (dense) update.dense = delta.data(), update.dense_size = delta.size();
  const auto scales = floats(payload, per_column ? cols : rows, 29, finite);
  if (magnitude) {
    update.magnitude = scales.data();
    update.magnitude_size = scales.size();
    update.magnitude_per_column = per_column;
  }

  temp_dir dir;
  {
    io::checkpoint_writer writer((dir.path / "base").string(), {{"w", base_type, {rows, cols}}}, 1 << 30);
    writer.append("w", base.data(), base.size());
    writer.commit();
  }
  const auto source = io::checkpoint::open((dir.path / "base").string());
  const std::uint64_t out_bytes = rows * cols * io::dtype_size(out_type);
  lora::merge_writer writer(
      std::make_unique<io::checkpoint_writer>((dir.path / "out").string(),
                                              std::vector<io::planned_tensor>{{"w", out_type, {rows, cols}}}, 1 << 30),
      block_bytes);
  std::vector<std::uint8_t> expected;
  try {
    writer.merge("w", source, "w", update, threads ? 2 : 1);
    RAGTUNE_FUZZ_CHECK(!misfit || update.terms.empty());
    expected = merged_in_memory(base, base_type, rows, cols, update, out_type);
  } catch (const std::invalid_argument&) {  // the adapter does not fit: named, rewound
    RAGTUNE_FUZZ_CHECK(misfit && !update.terms.empty());
    RAGTUNE_FUZZ_CHECK(writer.output().remaining("w") == out_bytes);
  } catch (const std::domain_error&) {  // a non-finite result refused part-way: rewound
    RAGTUNE_FUZZ_CHECK(update.require_finite);
    RAGTUNE_FUZZ_CHECK(writer.output().remaining("w") == out_bytes);
  }
  if (expected.empty()) {  // the retry a caller makes: a plain copy (converted) must write the tensor whole
    writer.copy("w", source, "w");
    if (base_type == out_type)
      expected = base;
    else
      lora::convert_tensor("w", base.data(), base_type, rows * cols, out_type,
                           [&](const std::uint8_t* b, std::size_t n) { expected.insert(expected.end(), b, b + n); });
  }
  writer.commit();
  const auto out = io::checkpoint::open((dir.path / "out").string());
  RAGTUNE_FUZZ_CHECK(out.info("w").end - out.info("w").begin == out_bytes && expected.size() == out_bytes);
  RAGTUNE_FUZZ_CHECK(std::memcmp(out.bytes("w"), expected.data(), out_bytes) == 0);
  return 0;
}
