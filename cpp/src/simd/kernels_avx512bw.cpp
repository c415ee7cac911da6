// Kernel instantiations for avx512bw; CMakeLists.txt compiles this file alone with avx512bw's flags.
#include "simd/kernels_impl.hpp"

namespace ragtune::simd::kernels {
RAGTUNE_INSTANTIATE_KERNELS(avx512bw_arch)
}  // namespace ragtune::simd::kernels
