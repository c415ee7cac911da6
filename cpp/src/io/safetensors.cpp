#include "ragtune/io/safetensors.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <system_error>

#include "ragtune/io/files.hpp"

namespace ragtune::io {
namespace {

struct dtype_entry {
  const char* name;
  dtype type;
  std::size_t size;
};

constexpr dtype_entry dtypes[] = {
    {"BOOL", dtype::boolean, 1},    {"U8", dtype::u8, 1},   {"I8", dtype::i8, 1},   {"F8_E5M2", dtype::f8_e5m2, 1},
    {"F8_E4M3", dtype::f8_e4m3, 1}, {"I16", dtype::i16, 2}, {"U16", dtype::u16, 2}, {"F16", dtype::f16, 2},
    {"BF16", dtype::bf16, 2},       {"I32", dtype::i32, 4}, {"U32", dtype::u32, 4}, {"F32", dtype::f32, 4},
    {"F64", dtype::f64, 8},         {"I64", dtype::i64, 8}, {"U64", dtype::u64, 8},
};

format_error invalid(const std::string& path, const std::string& what) {
  return format_error(path + " is not a valid safetensors file: " + what);
}

}  // namespace

std::size_t dtype_size(dtype type) noexcept {
  for (const auto& d : dtypes)
    if (d.type == type) return d.size;
  return 0;
}

const char* dtype_name(dtype type) noexcept {
  for (const auto& d : dtypes)
    if (d.type == type) return d.name;
  return "?";
}

dtype parse_dtype(const std::string& name) {
  std::string valid;
  for (const auto& d : dtypes) {
    if (name == d.name) return d.type;
    valid += (valid.empty() ? "" : ", ") + std::string(d.name);
  }
  throw format_error("unknown safetensors dtype '" + name + "' (expected one of " + valid + ")");
}

std::vector<dtype> all_dtypes() {
  std::vector<dtype> out;
  for (const auto& d : dtypes) out.push_back(d.type);
  return out;
}

std::uint64_t tensor_info::elements() const noexcept {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;  // validated not to overflow when the file was opened
  return n;
}

const tensor_info& safetensors_file::find(const std::string& name) const {
  const auto found = by_name_.find(name);
  if (found == by_name_.end()) throw std::out_of_range("no tensor named '" + name + "' in this file");
  return tensors_[found->second];
}

void safetensors_file::release(const tensor_info& tensor, std::uint64_t from, std::uint64_t to) const noexcept {
  if (file_.data() == nullptr) return;
  to = std::min(to, tensor.end - tensor.begin);
  if (from >= to) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = reinterpret_cast<std::uintptr_t>(data_ + tensor.begin + from);
  auto last = reinterpret_cast<std::uintptr_t>(data_ + tensor.begin + to);
  first = (first + page - 1) / page * page;
  last = last / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void safetensors_file::prefetch(const tensor_info& tensor) const noexcept {
  if (file_.data() == nullptr || tensor.end == tensor.begin) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<std::uintptr_t>(data_ + tensor.begin) / page * page;
  const auto last = reinterpret_cast<std::uintptr_t>(data_ + tensor.end);
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_WILLNEED);
}

void safetensors_file::populate(const tensor_info& tensor, std::uint64_t from, std::uint64_t to) const noexcept {
#ifdef MADV_POPULATE_READ
  if (file_.data() == nullptr) return;
  to = std::min(to, tensor.end - tensor.begin);
  if (from >= to) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<std::uintptr_t>(data_ + tensor.begin + from) / page * page;
  const auto last = reinterpret_cast<std::uintptr_t>(data_ + tensor.begin + to);
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_READ);  // older kernels: EINVAL, harmless
#else
  (void)tensor, (void)from, (void)to;
#endif
}

safetensors_file safetensors_file::open(const std::string& path, const read_limits& limits) {
  safetensors_file file;
  file.file_ = mapped_file::open(path);
  if (file.file_.size() < 8) throw invalid(path, "it is shorter than the 8-byte header length");
  const auto* base = reinterpret_cast<const std::uint8_t*>(file.file_.data());
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | base[i];  // little-endian, any host
  if (header_size > limits.max_header_bytes)
    throw invalid(path, "its header claims " + std::to_string(header_size) + " bytes, above the limit of " +
                            std::to_string(limits.max_header_bytes));
  if (header_size > file.file_.size() - 8) throw invalid(path, "its header runs past the end of the file (truncated?)");
  const char* header = reinterpret_cast<const char*>(base + 8);
  nlohmann::json parsed;
  std::set<std::string> names;
  try {
    // Duplicate names would silently keep one tensor; refuse them instead.
    parsed = nlohmann::json::parse(
        header, header + header_size, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& value) {
          if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
              !names.insert(value.get<std::string>()).second)
            throw std::runtime_error("duplicate tensor name '" + value.get<std::string>() + "'");
          return true;
        });
  } catch (const nlohmann::json::exception& e) {
    throw invalid(path, std::string("its header is not valid JSON (") + e.what() + ")");
  } catch (const std::runtime_error& e) {
    throw invalid(path, e.what());
  }
  if (!parsed.is_object()) throw invalid(path, "its header is not a JSON object");
  if (parsed.size() > limits.max_tensors + 1) throw invalid(path, "it lists more tensors than the limit");
  const std::uint64_t data_size = file.file_.size() - 8 - header_size;
  for (auto& [name, entry] : parsed.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw invalid(path, "__metadata__ is not an object");
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw invalid(path, "__metadata__['" + key + "'] is not a string");
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string& tensor_name = name;  // C++17 lambdas cannot capture structured bindings
    auto bad = [&](const std::string& what) { return invalid(path, "tensor '" + tensor_name + "': " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    tensor_info info;
    info.name = name;
    const auto& type = entry["dtype"];
    if (!type.is_string()) throw bad("dtype is not a string");
    const auto known = std::find_if(std::begin(dtypes), std::end(dtypes),
                                    [&](const dtype_entry& d) { return type.get<std::string>() == d.name; });
    if (known == std::end(dtypes)) throw bad("unsupported dtype '" + type.get<std::string>() + "'");
    info.type = known->type;
    const auto& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > limits.max_rank)
      throw bad("shape is not a list of at most " + std::to_string(limits.max_rank) + " sizes");
    std::uint64_t bytes = known->size;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) throw bad("shape holds something other than a non-negative integer");
      const auto size = d.get<std::uint64_t>();
      info.shape.push_back(size);
      if (__builtin_mul_overflow(bytes, size, &bytes)) throw bad("its byte size overflows 64 bits");
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw bad("data_offsets is not [begin, end]");
    info.begin = offsets[0].get<std::uint64_t>();
    info.end = offsets[1].get<std::uint64_t>();
    if (info.end < info.begin || info.end - info.begin != bytes)
      throw bad("data_offsets span " + std::to_string(info.end - info.begin) + " bytes but dtype x shape needs " +
                std::to_string(bytes));
    if (info.end > data_size) throw bad("data runs past the end of the file (truncated?)");
    file.tensors_.push_back(std::move(info));
  }
  // The tensors must tile the data buffer: sorted, contiguous, no holes or overlaps.
  std::sort(file.tensors_.begin(), file.tensors_.end(), [](const tensor_info& a, const tensor_info& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  std::uint64_t expected = 0;
  for (const auto& t : file.tensors_) {
    if (t.begin != expected)
      throw invalid(path, "tensor '" + t.name + "' starts at " + std::to_string(t.begin) +
                              " but the previous one ends at " + std::to_string(expected) +
                              (t.begin < expected ? " (overlap)" : " (hole)"));
    expected = t.end;
  }
  if (expected != data_size)
    throw invalid(path, "the data buffer holds " + std::to_string(data_size) + " bytes but the tensors cover " +
                            std::to_string(expected));
  for (std::size_t i = 0; i < file.tensors_.size(); ++i) file.by_name_[file.tensors_[i].name] = i;
  file.data_ = base + 8 + header_size;
  return file;
}

}  // namespace ragtune::io
