#pragma once
/// @file
/// @brief A reader-writer mutex that lets a waiting writer in: new readers queue
///        behind it. std::shared_mutex (glibc's rwlock) prefers readers, so a steady
///        stream of searches could keep an add or a delete waiting forever.

#include <mutex>
#include <shared_mutex>

namespace ragtune::util {

/// @brief Meets the SharedMutex requirements (works with std::shared_lock / std::unique_lock).
class fair_shared_mutex {
 public:
  void lock() {
    // Hold the turnstile until the write lock is ours: readers arriving meanwhile wait at it.
    std::lock_guard<std::mutex> turnstile(turnstile_);
    rw_.lock();
  }
  bool try_lock() { return rw_.try_lock(); }
  void unlock() { rw_.unlock(); }

  void lock_shared() {
    { std::lock_guard<std::mutex> turnstile(turnstile_); }  // pass behind any waiting writer
    rw_.lock_shared();
  }
  bool try_lock_shared() { return rw_.try_lock_shared(); }
  void unlock_shared() { rw_.unlock_shared(); }

 private:
  std::mutex turnstile_;
  std::shared_mutex rw_;
};

}  // namespace ragtune::util
