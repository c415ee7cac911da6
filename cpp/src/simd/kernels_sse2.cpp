// Kernel instantiations for sse2; CMakeLists.txt compiles this file alone with sse2's flags.
#include "simd/kernels_impl.hpp"

namespace ragtune::simd::kernels {
RAGTUNE_INSTANTIATE_KERNELS(sse2_arch)
}  // namespace ragtune::simd::kernels
