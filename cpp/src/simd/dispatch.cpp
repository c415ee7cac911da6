// Runtime ISA selection and the public kernel entry points.
//
// Every ISA comes from one table (simd/isa_table.def). The ISA is chosen once per
// process: RAGTUNE_FORCE_ISA when set (an unknown or unsupported name is an error,
// raised by active_isa(), which the Python module calls at import), else the best
// this CPU runs. The kernels and active_isa() read the same choice; force_isa()
// pins another one for tests.

#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string_view>

#include "ragtune/simd/isa.hpp"
#include "ragtune/simd/text_kernels.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "simd/kernels.hpp"

namespace ragtune::simd {
namespace {

constexpr std::array<std::string_view, 0
#define RAGTUNE_ISA(name, arch_type, flags, check) +1
#include "simd/isa_table.def"
#undef RAGTUNE_ISA
                     >
    table_names = {
#define RAGTUNE_ISA(name, arch_type, flags, check) #name,
#include "simd/isa_table.def"
#undef RAGTUNE_ISA
};

// The public enum and the table list the same ISAs in the same order.
#define RAGTUNE_ISA(name, arch_type, flags, check) \
  static_assert(table_names[static_cast<std::size_t>(isa::name)] == #name, "isa enum and isa_table.def differ");
#include "simd/isa_table.def"
#undef RAGTUNE_ISA

constexpr int automatic = -1;
std::atomic<int> forced{automatic};

bool cpu_runs(isa value) noexcept {
  const auto arch = xsimd::available_architectures();
  switch (value) {
#define RAGTUNE_ISA(name, arch_type, flags, check) \
  case isa::name:                                  \
    return check;
#include "simd/isa_table.def"
#undef RAGTUNE_ISA
  }
  return false;
}

std::string names(const std::vector<isa>& values) {
  std::string out;
  for (isa value : values) out += (out.empty() ? "" : ", ") + std::string(isa_name(value));
  return out;
}

isa best_available() {
  const auto all = available_isas();
  if (all.empty()) throw std::runtime_error("this CPU lacks SSE2, ragtune's baseline");
  return all.back();
}

// The process's choice, made once: the environment is the user's choice for the whole process.
int selected() {
  static const int value = [] {
    const char* name = std::getenv("RAGTUNE_FORCE_ISA");
    if (name == nullptr || *name == '\0') return static_cast<int>(best_available());
    isa chosen;
    try {
      chosen = parse_isa(name);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("RAGTUNE_FORCE_ISA=") + name + ": " + error.what());
    }
    if (!cpu_runs(chosen))
      throw std::invalid_argument(std::string("RAGTUNE_FORCE_ISA=") + name + " but this CPU cannot run it; it runs " +
                                  names(available_isas()) + " (unset it to use the best)");
    return static_cast<int>(chosen);
  }();
  return value;
}

int current() {
  const int value = forced.load(std::memory_order_relaxed);
  return value != automatic ? value : selected();
}

// Calls `kernel` on the active ISA.
template <class Kernel, class... Args>
auto run(Kernel kernel, Args... args) noexcept {
  int value;
  try {
    value = current();
  } catch (...) {
    // A bad RAGTUNE_FORCE_ISA: raised by active_isa() at import; kernels must not throw.
    value = static_cast<int>(isa::sse2);
    for (isa candidate : available_isas()) value = static_cast<int>(candidate);
  }
  switch (value) {
#define RAGTUNE_ISA(name, arch_type, flags, check) \
  case static_cast<int>(isa::name):                \
    return kernel(kernels::name##_arch{}, args...);
#include "simd/isa_table.def"
#undef RAGTUNE_ISA
  }
  return kernel(kernels::sse2_arch{}, args...);  // unreachable: every value is in the table
}

}  // namespace

const char* isa_name(isa value) noexcept {
  const auto index = static_cast<std::size_t>(value);
  return index < table_names.size() ? table_names[index].data() : "unknown";
}

isa parse_isa(const std::string& name) {
  for (std::size_t i = 0; i < table_names.size(); ++i)
    if (name == table_names[i]) return static_cast<isa>(i);
  if (name == "sse4.2") return isa::sse4_2;
  std::string valid;
  for (auto known : table_names) valid += (valid.empty() ? "" : ", ") + std::string(known);
  throw std::invalid_argument("unknown ISA '" + name + "': expected one of " + valid);
}

std::vector<isa> available_isas() {
  std::vector<isa> out;
  for (std::size_t i = 0; i < table_names.size(); ++i)
    if (cpu_runs(static_cast<isa>(i))) out.push_back(static_cast<isa>(i));
  return out;
}

isa active_isa() { return static_cast<isa>(current()); }

void force_isa(isa value) {
  if (!cpu_runs(value)) throw std::invalid_argument(std::string("this CPU cannot run ") + isa_name(value));
  forced.store(static_cast<int>(value), std::memory_order_relaxed);
}

void reset_isa() { forced.store(automatic, std::memory_order_relaxed); }

std::size_t count_codepoints(const std::uint8_t* data, std::size_t size) noexcept {
  return run(kernels::count_codepoints{}, data, size);
}

std::size_t count_byte(const std::uint8_t* data, std::size_t size, std::uint8_t value) noexcept {
  return run(kernels::count_byte{}, data, size, value);
}

bool is_ascii(const std::uint8_t* data, std::size_t size) noexcept { return run(kernels::is_ascii{}, data, size); }

std::size_t find_all(const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                     std::size_t needle_size, std::size_t* out, std::size_t capacity) noexcept {
  return run(kernels::find_all{}, haystack, size, needle, needle_size, out, capacity);
}

void dot_block(const float* queries, std::size_t nq, const float* rows, std::size_t n, std::size_t dim, float* out,
               std::size_t ldo) noexcept {
  run(kernels::dot_block{}, queries, nq, rows, n, dim, out, ldo);
}

void add_product(float* out, const float* acc, float c, std::size_t n) noexcept {
  run(kernels::add_product{}, out, acc, c, n);
}

void low_rank_add(const float* left, std::size_t rank, const float* right, std::size_t cols, float c, float* out,
                  std::size_t ldo, std::size_t rows) noexcept {
  run(kernels::low_rank_add{}, left, rank, right, cols, c, out, ldo, rows);
}

void widen_16(const std::uint16_t* source, float* target, std::size_t n, bool brain) noexcept {
  run(kernels::widen_16{}, source, target, n, brain);
}

void narrow_16(const float* source, std::uint16_t* target, std::size_t n, bool brain) noexcept {
  run(kernels::narrow_16{}, source, target, n, brain);
}

void minhash_update(const std::uint64_t* hashes, std::size_t count, const std::uint64_t* seeds,
                    std::uint64_t* signature, std::size_t size) noexcept {
  run(kernels::minhash_update{}, hashes, count, seeds, signature, size);
}

namespace {
// One of the hnswlib distances of the ISA: between two rows, or between the rows of
// two slot numbers (float32 or compact).
struct pick_distance {
  template <class Arch>
  distance_function operator()(Arch, bool inner_product, bool over_slots, row_type type) const noexcept {
    if (over_slots && type != row_type::f32)
      return inner_product ? &kernels::hnsw_ip_compact_slot_distance<Arch>
                           : &kernels::hnsw_l2_compact_slot_distance<Arch>;
    if (over_slots)
      return inner_product ? &kernels::hnsw_ip_slot_distance<Arch> : &kernels::hnsw_l2_slot_distance<Arch>;
    return inner_product ? &kernels::hnsw_ip_distance<Arch> : &kernels::hnsw_l2_distance<Arch>;
  }
};

struct pick_gather_dot {
  template <class Arch>
  gather_dot_function operator()(Arch, row_type type) const noexcept {
    switch (type) {
      case row_type::f16:
        return &kernels::dot_gather_f16<Arch>;
      case row_type::i8:
        return &kernels::dot_gather_i8<Arch>;
      case row_type::f32:
        break;
    }
    return &kernels::dot_gather_f32<Arch>;
  }
};
}  // namespace

gather_dot_function gather_dot(row_type type) noexcept { return run(pick_gather_dot{}, type); }

distance_function hnsw_distance(bool inner_product) noexcept {
  return run(pick_distance{}, inner_product, false, row_type::f32);
}

distance_function hnsw_slot_distance(bool inner_product, row_type type) noexcept {
  return run(pick_distance{}, inner_product, true, type);
}

float dot_f16(const float* query, const std::uint16_t* row, std::size_t dim) noexcept {
  return run(kernels::dot_f16{}, query, row, dim);
}

float dot_i8(const float* query, const std::int8_t* row, std::size_t dim) noexcept {
  return run(kernels::dot_i8{}, query, row, dim);
}

void decode_row(const slot_rows& rows, std::size_t slot, std::size_t offset, std::size_t count, float* out) noexcept {
  run(kernels::decode_row{}, std::cref(rows), slot, offset, count, out);
}

}  // namespace ragtune::simd
