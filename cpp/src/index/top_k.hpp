#pragma once
// The k best (score, slot) pairs seen so far, under a strict total order (higher
// score first, then lower slot) so that results never depend on how work was
// split across threads.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ragtune::index {

struct scored_slot {
  float score;
  std::int64_t slot;
};

inline bool better(const scored_slot& a, const scored_slot& b) noexcept {
  return a.score > b.score || (a.score == b.score && a.slot < b.slot);
}

class top_k {
 public:
  explicit top_k(std::size_t k = 0) : k_(k) { heap_.reserve(k); }

  // The worst kept score; anything not better is rejected without touching the heap.
  void push(float score, std::int64_t slot) {
    if (k_ == 0) return;
    const scored_slot candidate{score, slot};
    if (heap_.size() < k_) {
      heap_.push_back(candidate);
      std::push_heap(heap_.begin(), heap_.end(), better);
    } else if (better(candidate, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = candidate;
      std::push_heap(heap_.begin(), heap_.end(), better);
    }
  }

  // Cheap pre-check for hot loops: could this score enter at all?
  bool admits(float score) const noexcept { return heap_.size() < k_ || score >= heap_.front().score; }

  void merge(const top_k& other) {
    for (const auto& item : other.heap_) push(item.score, item.slot);
  }

  // Best first.
  std::vector<scored_slot> sorted() const {
    std::vector<scored_slot> out = heap_;
    std::sort(out.begin(), out.end(), better);
    return out;
  }

  std::size_t size() const noexcept { return heap_.size(); }

 private:
  std::size_t k_;
  std::vector<scored_slot> heap_;  // a heap whose front is the worst kept item
};

}  // namespace ragtune::index
