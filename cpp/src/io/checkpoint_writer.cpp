#include "ragtune/io/checkpoint_writer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <random>
#include <stdexcept>
#include <system_error>
#include "ragtune/io/files.hpp"

namespace ragtune::io {
namespace {

void sync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw_io_error("cannot open to sync", path);
  try {
    sync_fd(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string strip_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string random_suffix() {
  std::random_device device;
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%d-%08x", static_cast<int>(::getpid()), device());
  return buffer;
}

// Removes staging folders of earlier runs for the same output that died without
// cleaning up (killed, power loss): ".<name>.partial-<pid>-<hex>" whose process is gone.
// A folder of a process that is still running (a concurrent merge) is left alone.
void remove_stale_staging(const std::filesystem::path& parent, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string prefix = "." + name + ".partial-";
  std::error_code error;
  for (fs::directory_iterator it(parent, error), end; !error && it != end; it.increment(error)) {
    const std::string entry = it->path().filename().string();
    if (entry.rfind(prefix, 0) != 0) continue;
    const std::string rest = entry.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    char* stop = nullptr;
    const long pid = std::strtol(rest.c_str(), &stop, 10);
    if (stop != rest.c_str() + dash || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code ignored;
    fs::remove_all(it->path(), ignored);
  }
}

}  // namespace

checkpoint_writer::checkpoint_writer(std::string out_dir, std::vector<planned_tensor> tensors,
                                     std::uint64_t shard_bytes, std::map<std::string, std::string> metadata,
                                     std::string stem)
    : out_(strip_trailing_slashes(std::move(out_dir))), stem_(std::move(stem)) {
  namespace fs = std::filesystem;
  if (out_.empty()) throw std::invalid_argument("the output folder name is empty");
  if (stem_.empty() || stem_.find('/') != std::string::npos || stem_.size() > 100)
    throw std::invalid_argument("file stem '" + stem_ + "' must be a short plain file name");
  if (shard_bytes == 0) throw std::invalid_argument("shard size must be positive");
  struct stat st {};
  if (::lstat(out_.c_str(), &st) == 0)
    throw io_error(EEXIST, "the output folder already exists; choose a new one or remove it first", out_);

  // Plan: which shard each tensor lands in, in the caller's order.
  std::vector<std::vector<std::size_t>> members;
  std::uint64_t shard_fill = 0;
  for (auto& tensor : tensors) {
    if (by_name_.count(tensor.name) != 0) throw std::invalid_argument("tensor '" + tensor.name + "' is planned twice");
    if (tensor.name.empty() || tensor.name == "__metadata__")
      throw std::invalid_argument("'" + tensor.name + "' is not a usable tensor name");
    std::uint64_t size = dtype_size(tensor.type);
    for (auto d : tensor.shape)
      if (__builtin_mul_overflow(size, d, &size))
        throw std::invalid_argument("tensor '" + tensor.name + "': its byte size overflows 64 bits");
    if (members.empty() || (shard_fill > 0 && shard_fill + size > shard_bytes)) {
      members.emplace_back();
      shard_fill = 0;
    }
    shard_fill += size;
    total_ += size;
    by_name_[tensor.name] = slots_.size();
    members.back().push_back(slots_.size());
    slots_.push_back(slot{std::move(tensor), members.size() - 1, 0, size, 0});
  }
  if (members.empty()) members.emplace_back();  // an empty checkpoint is still a valid file

  const fs::path destination(out_);
  const fs::path parent = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw io_error(ENOENT, "cannot write " + out_ + ": its parent folder does not exist", parent.string());
  remove_stale_staging(parent, destination.filename().string());
  staging_ = (parent / ("." + destination.filename().string() + ".partial-" + random_suffix())).string();
  if (::mkdir(staging_.c_str(), 0755) != 0) throw_io_error("cannot create", staging_);

  try {
    for (std::size_t s = 0; s < members.size(); ++s) {
      auto& group = members[s];
      // Largest elements first: every tensor then starts at a multiple of its element size.
      std::stable_sort(group.begin(), group.end(), [&](std::size_t a, std::size_t b) {
        return dtype_size(slots_[a].tensor.type) > dtype_size(slots_[b].tensor.type);
      });
      nlohmann::json header = nlohmann::json::object();
      if (!metadata.empty()) header["__metadata__"] = metadata;
      std::uint64_t offset = 0;
      for (auto index : group) {
        const auto& t = slots_[index];
        header[t.tensor.name] = {{"dtype", dtype_name(t.tensor.type)},
                                 {"shape", t.tensor.shape},
                                 {"data_offsets", {offset, offset + t.size}}};
        slots_[index].file_offset = offset;
        offset += t.size;
      }
      std::string text = header.dump();
      text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
      for (auto index : group) slots_[index].file_offset += 8 + text.size();

      char numbered[40];
      std::snprintf(numbered, sizeof(numbered), "-%05zu-of-%05zu", s + 1, members.size());
      const std::string name = stem_ + (members.size() == 1 ? "" : numbered) + ".safetensors";
      const std::string path = staging_ + "/" + name;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) throw_io_error("cannot create", path);
      const std::uint64_t file_size = 8 + text.size() + offset;
      shards_.push_back(shard{name, fd, file_size, std::make_unique<direct_stream>(path, fd)});
      std::uint8_t length[8];
      for (int i = 0; i < 8; ++i)
        length[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
      shards_.back().stream->write(0, length, 8);
      shards_.back().stream->write(8, text.data(), text.size());
    }
  } catch (...) {
    abort();
    throw;
  }
}

checkpoint_writer::~checkpoint_writer() {
  if (!committed_) abort();
}

void checkpoint_writer::abort() noexcept {
  for (auto& s : shards_) {
    s.stream.reset();
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
  }
  if (!committed_ && !aborted_ && !staging_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(staging_, ignored);
  }
  aborted_ = true;
}

void checkpoint_writer::ensure_open() const {
  if (committed_) throw std::logic_error(out_ + " is already committed");
  if (aborted_) throw std::logic_error("the write of " + out_ + " was aborted");
}

checkpoint_writer::slot& checkpoint_writer::find(const std::string& name) {
  const auto found = by_name_.find(name);
  if (found == by_name_.end()) throw std::out_of_range("tensor '" + name + "' is not in the planned checkpoint");
  return slots_[found->second];
}

const checkpoint_writer::slot& checkpoint_writer::find(const std::string& name) const {
  return const_cast<checkpoint_writer*>(this)->find(name);
}

std::vector<std::string> checkpoint_writer::file_order() const {
  std::vector<const slot*> ordered;
  for (const auto& s : slots_) ordered.push_back(&s);
  std::sort(ordered.begin(), ordered.end(), [](const slot* a, const slot* b) {
    return a->shard != b->shard ? a->shard < b->shard : a->file_offset < b->file_offset;
  });
  std::vector<std::string> names;
  for (const auto* s : ordered) names.push_back(s->tensor.name);
  return names;
}

const planned_tensor& checkpoint_writer::planned(const std::string& name) const { return find(name).tensor; }

std::uint64_t checkpoint_writer::remaining(const std::string& name) const {
  const auto& s = find(name);
  return s.size - s.written;
}

void checkpoint_writer::rewind(const std::string& name) { find(name).written = 0; }

void checkpoint_writer::append(const std::string& name, const void* data, std::size_t size) {
  ensure_open();
  auto& s = find(name);
  if (size > s.size - s.written)
    throw std::length_error("tensor '" + name + "' takes " + std::to_string(s.size) + " bytes; writing " +
                            std::to_string(size) + " more after " + std::to_string(s.written) + " overflows it");
  shards_[s.shard].stream->write(s.file_offset + s.written, data, size);
  s.written += size;
}

void checkpoint_writer::commit() {
  ensure_open();
  for (const auto& s : slots_)
    if (s.written != s.size)
      throw std::runtime_error("tensor '" + s.tensor.name + "' is incomplete (" + std::to_string(s.written) + " of " +
                               std::to_string(s.size) + " bytes written); nothing was published");
  for (auto& s : shards_) {
    s.stream->finish(s.size);
    sync_fd(s.fd, staging_ + "/" + s.file_name);
    ::close(s.fd);
    s.fd = -1;
  }
  if (shards_.size() > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", total_}}}, {"weight_map", nlohmann::json::object()}};
    for (const auto& s : slots_) index["weight_map"][s.tensor.name] = shards_[s.shard].file_name;
    const std::string text = index.dump(2) + "\n";
    const std::string path = staging_ + "/" + stem_ + ".safetensors.index.json";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw_io_error("cannot create", path);
    try {
      write_all_at(fd, text.data(), text.size(), 0, path);
      sync_fd(fd, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }
  sync_path(staging_, O_RDONLY | O_DIRECTORY);
  // RENAME_NOREPLACE: never clobber a folder that appeared while we were writing.
  if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) != 0)
    throw_io_error("cannot publish (does it exist now?)", out_);
  committed_ = true;
  const std::filesystem::path parent = std::filesystem::path(out_).has_parent_path()
                                           ? std::filesystem::path(out_).parent_path()
                                           : std::filesystem::path(".");
  sync_path(parent.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace ragtune::io
