// Kernel instantiations for sse4_2; CMakeLists.txt compiles this file alone with sse4_2's flags.
#include "simd/kernels_impl.hpp"

namespace ragtune::simd::kernels {
RAGTUNE_INSTANTIATE_KERNELS(sse4_2_arch)
}  // namespace ragtune::simd::kernels
