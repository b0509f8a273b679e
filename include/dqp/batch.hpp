// Batches: many problems of the same sizes, solved and differentiated on a
// pool of threads. Parameters shared by the batch are passed as the same view
// in every problem (no copies). When P, C and A are shared, problems with the
// same active set share one reduced KKT factorization.
//
// Thread safety: the batch functions may themselves be called from several
// threads at once (each call runs its own pool); the problems' data must stay
// alive and unmodified until the call returns. To build problems in a loop,
// keep them in a std::vector<dqp::DenseQP> (owned_problem.hpp) and pass
// their views.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "dqp/gradients.hpp"
#include "dqp/layer.hpp"

namespace dqp {

// Reduced KKT factorizations by active set, for problems whose P, C and A are
// the same matrices. Thread-safe.
class FactorCache {
 public:
  std::shared_ptr<const ReducedKKT> find(const std::vector<Index>& active) const;
  // Keeps the first factorization stored for an active set.
  void insert(const std::vector<Index>& active, std::shared_ptr<const ReducedKKT> kkt);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::vector<Index>, std::shared_ptr<const ReducedKKT>> entries_;
};

struct BatchOptions {
  int threads = 0;                    // 0: every hardware thread
  bool share_factorizations = true;   // use a FactorCache when P, C, A are shared
  GradientSelection gradients;        // backward_batch: the gradients to compute (all)
};

// Solutions in batch order. A bad problem throws (naming its index); a failed
// solve is reported in its Solution's status.
std::vector<Solution> forward_batch(const Layer& layer, const std::vector<DenseProblem>& problems,
                                    const BatchOptions& options = {},
                                    const std::vector<const Solution*>& warm = {});
std::vector<Solution> forward_batch(const Layer& layer, const std::vector<SparseProblem>& problems,
                                    const BatchOptions& options = {},
                                    const std::vector<const Solution*>& warm = {});

// Row i of dz, dlam, dmu is the incoming gradient of problem i. dlam and dmu
// may be empty (size 0: RowMatrix() or zero columns), meaning zero, as in
// Layer::backward. Solutions that are not differentiable get zero gradients.
using BatchRows = Eigen::Ref<const RowMatrix>;
std::vector<DenseGradients> backward_batch(const Layer& layer, const std::vector<DenseProblem>& problems,
                                           const std::vector<Solution>& solutions, const BatchRows& dz,
                                           const BatchRows& dlam, const BatchRows& dmu,
                                           const BatchOptions& options = {});
std::vector<SparseGradients> backward_batch(const Layer& layer,
                                            const std::vector<SparseProblem>& problems,
                                            const std::vector<Solution>& solutions,
                                            const BatchRows& dz, const BatchRows& dlam,
                                            const BatchRows& dmu, const BatchOptions& options = {});

// The same, streaming: sink(i, gradients) is called on the worker thread that
// computed problem i's gradients (concurrently for different i), so a caller
// can write them straight into its own output without a second pass over
// the batch. The solutions are passed by pointer (no copies).
using DenseGradientSink = std::function<void(Index, DenseGradients&&)>;
void backward_batch(const Layer& layer, const std::vector<DenseProblem>& problems,
                    const std::vector<const Solution*>& solutions, const BatchRows& dz,
                    const BatchRows& dlam, const BatchRows& dmu, const BatchOptions& options,
                    const DenseGradientSink& sink);

// Runs body(i) for i in [0, count) on up to `threads` threads (0: all).
// Rethrows the first exception a call raised.
void parallel_for(Index count, int threads, const std::function<void(Index)>& body);

}  // namespace dqp
