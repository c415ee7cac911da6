#include "ragtune/io/checkpoint.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "ragtune/io/files.hpp"

namespace ragtune::io {
namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// A shard named by the index must be a plain file name: no folders, no "..".
bool plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos && name != "." &&
         name != "..";
}

}  // namespace

checkpoint checkpoint::open(const std::string& path, const read_limits& limits) {
  std::string index_path, single_path;
  if (is_directory(path)) {
    if (exists(path + "/model.safetensors.index.json"))
      index_path = path + "/model.safetensors.index.json";
    else if (exists(path + "/model.safetensors"))
      single_path = path + "/model.safetensors";
    else
      throw format_error(path + " holds neither model.safetensors nor model.safetensors.index.json");
  } else if (ends_with(path, ".json")) {
    index_path = path;
  } else {
    single_path = path;
  }
  checkpoint out;
  if (!single_path.empty()) {
    out.shards_.push_back(safetensors_file::open(single_path, limits));
    out.shard_names_.push_back(single_path.substr(single_path.rfind('/') + 1));
    out.metadata_ = out.shards_.back().metadata();
  } else {
    std::error_code size_error;
    const auto size = std::filesystem::file_size(index_path, size_error);
    // Checked before reading: a hostile index file must not be read into memory whole.
    if (size_error || size > limits.max_header_bytes)
      throw format_error(index_path + (size_error ? " cannot be read" : " is too large (over the header limit)"));
    std::ifstream in(index_path);
    if (!in) throw_io_error("cannot open", index_path);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
      throw format_error(index_path + " is not valid JSON: " + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw format_error(index_path + " has no weight_map object");
    if (index.contains("metadata") && index["metadata"].is_object())
      for (auto& [key, value] : index["metadata"].items())
        out.metadata_[key] = value.is_string() ? value.get<std::string>() : value.dump();
    std::map<std::string, std::string> wanted;  // tensor -> shard
    for (auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string() || !plain_file_name(shard.get<std::string>()))
        throw format_error(index_path + ": tensor '" + tensor + "' points at a shard outside the checkpoint folder");
      wanted[tensor] = shard.get<std::string>();
      if (std::find(out.shard_names_.begin(), out.shard_names_.end(), shard.get<std::string>()) ==
          out.shard_names_.end())
        out.shard_names_.push_back(shard.get<std::string>());
    }
    const std::string folder = folder_of(index_path);
    for (const auto& shard : out.shard_names_)
      out.shards_.push_back(safetensors_file::open(folder + "/" + shard, limits));
    // Every tensor the index names must be in its shard, and every shard tensor must be named.
    for (std::size_t s = 0; s < out.shards_.size(); ++s)
      for (const auto& t : out.shards_[s].tensors()) {
        const auto found = wanted.find(t.name);
        if (found == wanted.end() || found->second != out.shard_names_[s])
          throw format_error(index_path + ": shard " + out.shard_names_[s] + " holds '" + t.name +
                             "', which the index does not assign to it");
      }
    for (const auto& [tensor, shard] : wanted) {
      const auto s = static_cast<std::size_t>(std::find(out.shard_names_.begin(), out.shard_names_.end(), shard) -
                                              out.shard_names_.begin());
      try {
        out.shards_[s].find(tensor);
      } catch (const std::out_of_range&) {
        throw format_error(index_path + ": tensor '" + tensor + "' is missing from " + shard);
      }
    }
  }
  for (std::size_t s = 0; s < out.shards_.size(); ++s)
    for (const auto& t : out.shards_[s].tensors()) {
      if (!out.tensors_.emplace(t.name, std::make_pair(s, &t)).second)
        throw format_error("tensor '" + t.name + "' appears in two shards");
      out.names_.push_back(t.name);
    }
  return out;
}

const tensor_info& checkpoint::info(const std::string& name) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  return *found->second.second;
}

const std::uint8_t* checkpoint::bytes(const std::string& name) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  return shards_[found->second.first].bytes(*found->second.second);
}

const std::string& checkpoint::shard_of(const std::string& name) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  return shard_names_[found->second.first];
}

void checkpoint::release(const std::string& name, std::uint64_t from, std::uint64_t to) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  shards_[found->second.first].release(*found->second.second, from, to);
}

void checkpoint::populate(const std::string& name, std::uint64_t from, std::uint64_t to) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  shards_[found->second.first].populate(*found->second.second, from, to);
}

void checkpoint::prefetch(const std::string& name) const {
  const auto found = tensors_.find(name);
  if (found == tensors_.end()) throw std::out_of_range("no tensor named '" + name + "' in this checkpoint");
  shards_[found->second.first].prefetch(*found->second.second);
}

}  // namespace ragtune::io
