#pragma once
/// @file
/// @brief Runs independent work items on oneTBB, in an arena of a chosen size, and
///        re-throws the first exception once, after all workers stop.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include <thread>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#if defined(__SANITIZE_THREAD__)
#define RAGTUNE_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RAGTUNE_THREAD_SANITIZER 1
#endif
#endif

namespace ragtune::util {

/// @brief Calls @p body(i) for i in [0, count). @p threads == 0 uses oneTBB's default,
///        N > 0 runs inside a task_arena of N threads, and a single item runs on the caller.
/// @throws std::invalid_argument for negative @p threads; rethrows the first exception a body threw.
template <class Body>
void parallel_for_each(std::size_t count, int threads, Body&& body) {
  if (threads < 0) throw std::invalid_argument("threads must be >= 0 (0 = all cores), got " + std::to_string(threads));
  if (count <= 1 || threads == 1) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};
  // Runs item i unless an earlier item failed; records the first exception. False: stop.
  auto run_one = [&](std::size_t i) {
    if (failed.load(std::memory_order_relaxed)) return false;
    try {
      body(i);
      return true;
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
      return false;
    }
  };
  auto work = [&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count), [&](const tbb::blocked_range<std::size_t>& range) {
      for (std::size_t i = range.begin(); i != range.end() && run_one(i); ++i) {
      }
    });
  };
#ifdef RAGTUNE_THREAD_SANITIZER
  // libtbb is not instrumented, so ThreadSanitizer cannot see its synchronisation and
  // reports its internals. Under TSan the same bodies run on plain std::threads (whose
  // start and join it understands), so races in ragtune's own code are still found.
  (void)work;
  const unsigned workers =
      threads > 0 ? static_cast<unsigned>(threads) : std::max(2u, std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < count && run_one(i);) {
      }
    });
  }
  for (auto& thread : pool) thread.join();
#else
  if (threads == 0)
    work();
  else
    tbb::task_arena(threads).execute(work);
#endif
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace ragtune::util
