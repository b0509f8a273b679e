// Dense complete orthogonal decomposition (Eigen): rank revealing, gives the
// minimum-norm least-squares solution of a singular K. The degenerate path.
//
// Directions whose pivot is below kSingularPivot times the largest count as
// null, at least: the threshold at which the regular factorizations and the
// condition estimate call K singular. Eigen's default (ε times the size) is
// smaller for small K, and a K sent here as numerically singular would keep
// its rounding-error directions and return solutions of size 1/σ_min.
#include <algorithm>

#include <Eigen/QR>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class DenseCODFactorization final : public KKTFactorization {
 public:
  explicit DenseCODFactorization(const KKTDense& K) : cod_(K.rows(), K.cols()) {
    cod_.setThreshold(std::max(kSingularPivot, Eigen::NumTraits<double>::epsilon() *
                                                   static_cast<double>(K.rows())));
    cod_.compute(K);
  }
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = cod_.solve(rhs); }
  bool rank_deficient() const override { return cod_.rank() < cod_.cols(); }

 private:
  Eigen::CompleteOrthogonalDecomposition<KKTDense> cod_;
};

class DenseCOD final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"cod", true, false, true,
            "dense complete orthogonal decomposition, minimum-norm least squares (Eigen)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTDense& K) const override {
    return std::make_unique<DenseCODFactorization>(K);
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_dense_cod() { return std::make_unique<DenseCOD>(); }

}  // namespace dqp::kkt
