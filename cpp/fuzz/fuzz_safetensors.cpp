/// @file
/// @brief Fuzzes the safetensors reader with whole files: anything it accepts must be
///        consistent (every tensor inside the file, sizes matching shapes), and every
///        byte it exposes must be readable.

#include <stdexcept>
#include <system_error>

#include "fuzz_input.hpp"
#include "ragtune/io/safetensors.hpp"

using namespace ragtune;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::temp_file file({reinterpret_cast<const char*>(data), size});
  try {
    const io::safetensors_file st = io::safetensors_file::open(file.path());
    std::uint64_t previous_end = 0;
    for (const io::tensor_info& t : st.tensors()) {
      RAGTUNE_FUZZ_CHECK(t.begin == previous_end && t.begin <= t.end);
      RAGTUNE_FUZZ_CHECK(t.end - t.begin == t.elements() * io::dtype_size(t.type));
      previous_end = t.end;
      volatile std::uint8_t sink = 0;
      const std::uint8_t* bytes = st.bytes(t);
      for (std::uint64_t i = 0; i < t.end - t.begin; i += 4096) sink = sink ^ bytes[i];
      if (t.end > t.begin) sink = sink ^ bytes[t.end - t.begin - 1];
      RAGTUNE_FUZZ_CHECK(&st.find(t.name) == &t);
    }
    RAGTUNE_FUZZ_CHECK(previous_end <= st.file_size());
  } catch (const std::runtime_error&) {  // the documented refusal (std::system_error included)
  } catch (const std::out_of_range&) {
  }
  return 0;
}
