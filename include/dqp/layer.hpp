// The differentiable QP layer: forward solves and prepares the derivative,
// backward returns the gradients of a loss with respect to all six data.
#pragma once

#include <memory>

#include "dqp/gradients.hpp"
#include "dqp/problem.hpp"
#include "dqp/qp_solver.hpp"
#include "dqp/settings.hpp"
#include "dqp/solution.hpp"

namespace dqp {

class FactorCache;

// Thread safety: a Layer is immutable after construction, and every member
// function is const and may be called from many threads at once (on the same
// or different problems and solutions), as forward_batch and backward_batch
// do. The solvers it holds keep no state between calls. The problem data a
// call reads must not be modified during the call.
class Layer {
 public:
  // Throws std::invalid_argument on bad settings or unknown solver names.
  explicit Layer(Settings settings = {});
  // With a solver of the caller's own (settings.qp_solver is then not looked
  // up). A null solver makes a layer for points computed elsewhere: only
  // forward_from and backward may be called.
  Layer(Settings settings, std::shared_ptr<const QPSolver> solver);

  const Settings& settings() const { return settings_; }

  // Solves with the configured solver, finds the active set and factors the
  // reduced KKT system (of a dense problem on the sparse path when
  // settings().storage says so: Solution::storage). `warm` (may be null) warm-starts the solver when
  // settings().warm_start is on. Bad data throws; a failed solve is reported
  // in Solution::status. `cache` (may be null; see batch.hpp) shares
  // factorizations between problems with the same P, C and A.
  Solution forward(const DenseProblem& problem, const Solution* warm = nullptr,
                   FactorCache* cache = nullptr) const;
  Solution forward(const SparseProblem& problem, const Solution* warm = nullptr,
                   FactorCache* cache = nullptr) const;

  // Same, for a point computed elsewhere (for example by a Python solver):
  // everything after the solve runs here.
  Solution forward_from(const DenseProblem& problem, PrimalDual point) const;
  Solution forward_from(const SparseProblem& problem, PrimalDual point) const;

  // Vector-Jacobian products. dz (n), dlam (p), dmu (m) are the gradients of
  // the loss with respect to the outputs; dlam and dmu may be empty (size 0,
  // e.g. dqp::Vector()), meaning zero. `problem` must be the one given to
  // forward, unchanged. Throws std::invalid_argument when the solution is not
  // differentiable or belongs to another problem (its sizes or its
  // fingerprint differ), and std::overflow_error when the gradients overflow
  // double precision. `wanted` picks the gradients to compute; the others
  // come back empty (size 0).
  DenseGradients backward(const DenseProblem& problem, const Solution& solution,
                          const VectorRef& dz, const VectorRef& dlam, const VectorRef& dmu,
                          const GradientSelection& wanted = {}) const;
  SparseGradients backward(const SparseProblem& problem, const Solution& solution,
                           const VectorRef& dz, const VectorRef& dlam, const VectorRef& dmu,
                           const GradientSelection& wanted = {}) const;

 private:
  const QPSolver& solver() const;
  // Sets sparse_storage_; throws std::invalid_argument when storage is
  // "sparse" but a solver takes dense data only.
  void check_sparse_storage();

  Settings settings_;
  std::shared_ptr<const QPSolver> solver_;
  bool auto_storage_ = false;    // storage "auto" with dqp's "auto" chain: sparse_pays_off decides
  bool sparse_storage_ = false;  // storage "sparse": every dense problem on the sparse path
};

}  // namespace dqp
