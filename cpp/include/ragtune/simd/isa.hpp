#pragma once
/// @file
/// @brief Which instruction set the SIMD kernels run on, chosen once at run time.

#include <string>
#include <vector>

namespace ragtune::simd {

/// @brief The instruction sets ragtune ships kernels for, best last.
enum class isa { sse2 = 0, sse4_2 = 1, avx2 = 2, avx512bw = 3 };

/// @brief Lower-case name of an ISA as used by RAGTUNE_FORCE_ISA ("sse2", "sse4_2", "avx2", "avx512bw").
const char* isa_name(isa value) noexcept;

/// @brief ISAs this CPU (and OS) can run, baseline first.
std::vector<isa> available_isas();

/// @brief The ISA the kernels use now: the best available, or RAGTUNE_FORCE_ISA when set.
/// @throws std::invalid_argument when RAGTUNE_FORCE_ISA names an unknown or unavailable ISA.
isa active_isa();

/// @brief Forces the kernels onto one ISA (tests use it to run every kernel on every ISA).
/// @throws std::invalid_argument when the CPU cannot run it.
void force_isa(isa value);

/// @brief Returns to automatic selection (the best available, or RAGTUNE_FORCE_ISA).
void reset_isa();

/// @brief Parses an ISA name; accepts "sse4.2" as well as "sse4_2".
/// @throws std::invalid_argument naming the accepted values.
isa parse_isa(const std::string& name);

}  // namespace ragtune::simd
