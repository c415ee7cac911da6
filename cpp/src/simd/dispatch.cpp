// Runtime ISA selection and the public kernel entry points.
//
// Automatic selection goes through xsimd::dispatch over kernels::arch_list;
// RAGTUNE_FORCE_ISA (or force_isa(), for tests) pins one ISA instead.

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "ragtune/simd/isa.hpp"
#include "ragtune/simd/text_kernels.hpp"
#include "ragtune/simd/vector_kernels.hpp"
#include "simd/kernels.hpp"

namespace ragtune::simd {
namespace {

constexpr int automatic = -1;
std::atomic<int> forced{automatic};

bool cpu_runs(isa value) noexcept {
  const auto arch = xsimd::available_architectures();
  switch (value) {
    case isa::sse2: return arch.sse2;
    case isa::sse4_2: return arch.sse4_2;
    case isa::avx2: return arch.avx2 && arch.fma3_avx2;
    case isa::avx512bw: return arch.avx512bw;
  }
  return false;
}

int env_forced() {
  // Read once: the environment is the user's choice for the whole process.
  static const int value = [] {
    const char* name = std::getenv("RAGTUNE_FORCE_ISA");
    if (name == nullptr || *name == '\0') return automatic;
    const isa chosen = parse_isa(name);
    if (!cpu_runs(chosen))
      throw std::invalid_argument(std::string("RAGTUNE_FORCE_ISA=") + name + " but this CPU cannot run it");
    return static_cast<int>(chosen);
  }();
  return value;
}

int pinned() {
  const int value = forced.load(std::memory_order_relaxed);
  return value != automatic ? value : env_forced();
}

// Calls `kernel` on the active ISA.
template <class Kernel, class... Args>
auto run(Kernel kernel, Args... args) noexcept {
  int value = automatic;
  try {
    value = pinned();
  } catch (...) {
    // Reported by active_isa() at import; kernels must not throw.
  }
  switch (value) {
    case static_cast<int>(isa::sse2): return kernel(kernels::sse2_arch{}, args...);
    case static_cast<int>(isa::sse4_2): return kernel(kernels::sse4_2_arch{}, args...);
    case static_cast<int>(isa::avx2): return kernel(kernels::avx2_arch{}, args...);
    case static_cast<int>(isa::avx512bw): return kernel(kernels::avx512bw_arch{}, args...);
    default: return xsimd::dispatch<kernels::arch_list>(kernel)(args...);
  }
}

}  // namespace

const char* isa_name(isa value) noexcept {
  switch (value) {
    case isa::sse2: return "sse2";
    case isa::sse4_2: return "sse4_2";
    case isa::avx2: return "avx2";
    case isa::avx512bw: return "avx512bw";
  }
  return "unknown";
}

isa parse_isa(const std::string& name) {
  if (name == "sse2") return isa::sse2;
  if (name == "sse4_2" || name == "sse4.2") return isa::sse4_2;
  if (name == "avx2") return isa::avx2;
  if (name == "avx512bw") return isa::avx512bw;
  throw std::invalid_argument("unknown ISA '" + name + "': expected one of sse2, sse4_2, avx2, avx512bw");
}

std::vector<isa> available_isas() {
  std::vector<isa> out;
  for (isa value : {isa::sse2, isa::sse4_2, isa::avx2, isa::avx512bw})
    if (cpu_runs(value)) out.push_back(value);
  return out;
}

isa active_isa() {
  const int value = pinned();
  if (value != automatic) return static_cast<isa>(value);
  const auto all = available_isas();
  if (all.empty()) throw std::runtime_error("this CPU lacks SSE2, ragtune's baseline");
  return all.back();
}

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

namespace {
struct pick_distance {
  template <class Arch>
  distance_function operator()(Arch, bool inner_product) const noexcept {
    return inner_product ? &kernels::hnsw_ip_distance<Arch> : &kernels::hnsw_l2_distance<Arch>;
  }
};
}  // namespace

distance_function hnsw_distance(bool inner_product) noexcept { return run(pick_distance{}, inner_product); }

}  // namespace ragtune::simd
