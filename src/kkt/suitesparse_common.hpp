// What the SuiteSparse adapters share. Eigen's wrappers keep SuiteSparse's
// workspace ("common") inside the factorization object and write to it while
// solving, so solves on one factorization are serialized: a factorization is
// shared by the problems of a batch and solved from several threads. Eigen's
// UmfPackLU also keeps a view of the matrix for its solves, so the matrix
// lives here as long as the factorization.
#pragma once

#include <memory>
#include <mutex>

#include "adapters.hpp"
#include "minimum_norm.hpp"

namespace dqp::kkt {

template <class EigenSolver, bool LeastSquares = false>
class SuiteSparseFactorization final : public KKTFactorization {
 public:
  explicit SuiteSparseFactorization(const KKTSparse& K) : matrix_(K) {
    solver_.compute(matrix_);
    // A least-squares solver's basic solution, made the minimum-norm one.
    if constexpr (LeastSquares)
      if (ok())
        null_space_ = NullSpaceProjection(solver_.matrixR(), solver_.colsPermutation().indices(),
                                          solver_.rank(), K.cols());
  }
  bool ok() const { return solver_.info() == Eigen::Success; }
  void solve(Eigen::Ref<Vector> rhs) const override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      rhs = solver_.solve(Vector(rhs));
    }
    null_space_.apply(rhs);
  }
  bool rank_deficient() const override {
    if constexpr (LeastSquares)
      return solver_.rank() < solver_.cols();
    else
      return false;
  }

 private:
  mutable std::mutex mutex_;
  KKTSparse matrix_;
  mutable EigenSolver solver_;
  NullSpaceProjection null_space_;
};

template <class Factorization>
std::unique_ptr<KKTFactorization> factorize_or_null(const KKTSparse& K) {
  auto factorization = std::make_unique<Factorization>(K);
  if (!factorization->ok()) return nullptr;
  return factorization;
}

}  // namespace dqp::kkt
