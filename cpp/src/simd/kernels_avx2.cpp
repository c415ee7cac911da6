// Kernel instantiations for avx2; CMakeLists.txt compiles this file alone with avx2's flags.
#include "simd/kernels_impl.hpp"

namespace ragtune::simd::kernels {
RAGTUNE_INSTANTIATE_KERNELS(avx2_arch)
}  // namespace ragtune::simd::kernels
