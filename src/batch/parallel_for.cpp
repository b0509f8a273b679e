#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "dqp/batch.hpp"

namespace dqp {

// With OpenMP, the batch runs on the OpenMP runtime's pool: torch's CPU build
// uses the same libgomp, so inside a training loop dqp's work lands on the
// threads torch's last parallel operation left spinning, instead of competing
// with them for the cores (on 2 cores that competition made a batch of 128
// n = 50 problems 1.7 times slower). Without OpenMP, threads are started per
// call: a batch call does milliseconds of work, a thread start costs
// microseconds. Either way problems are handed out one at a time (their
// solve times differ by orders of magnitude), and the first exception a
// problem raises is rethrown here once every thread is done.
//
// A batch of tiny problems can take less time than waking a second thread
// (tens of microseconds, milliseconds on a loaded machine): the first problem
// runs on the calling thread and is timed, and the rest go to the pool only
// when they are worth it.
constexpr double kWorthParallelSeconds = 100e-6;

void parallel_for(Index count, int threads, const std::function<void(Index)>& body) {
  if (count <= 0) return;
  const int hardware = std::max(1u, std::thread::hardware_concurrency());
  Index workers = std::min<Index>(count, threads <= 0 ? hardware : threads);
  Index first = 0;
  if (workers > 1) {
    const auto start = std::chrono::steady_clock::now();
    body(0);
    first = 1;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds * static_cast<double>(count - 1) < kWorthParallelSeconds) workers = 1;
    workers = std::min<Index>(workers, count - 1);
  }
  if (workers <= 1) {
    for (Index i = first; i < count; ++i) body(i);
    return;
  }
  std::atomic<Index> next{first};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (Index i = next++; i < count; i = next++) {
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = count;  // stop handing out work
      }
    }
  };
#ifdef DQP_HAVE_OPENMP
#pragma omp parallel num_threads(static_cast<int>(workers))
  work();
#else
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (Index t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
#endif
  if (failure) std::rethrow_exception(failure);
}

}  // namespace dqp
