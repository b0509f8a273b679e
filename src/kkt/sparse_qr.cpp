// Sparse rank-revealing QR (Eigen::SparseQR): the minimum-norm least-squares
// solution of a singular sparse K (minimum_norm.hpp), the sparse degenerate
// path without SuiteSparse.
#include <Eigen/SparseQR>

#include "adapters.hpp"
#include "minimum_norm.hpp"

namespace dqp::kkt {
namespace {

class SparseQRFactorization final : public KKTFactorization {
 public:
  explicit SparseQRFactorization(const KKTSparse& K) {
    qr_.compute(K);
    if (ok())
      null_space_ = NullSpaceProjection(qr_.matrixR(), qr_.colsPermutation().indices(), qr_.rank(),
                                        K.cols());
  }
  bool ok() const { return qr_.info() == Eigen::Success; }
  bool rank_deficient() const override { return qr_.rank() < qr_.cols(); }
  // const: shared factorizations are solved from several threads at once.
  void solve(Eigen::Ref<Vector> rhs) const override {
    rhs = qr_.solve(Vector(rhs));
    null_space_.apply(rhs);
  }

 private:
  using Solver = Eigen::SparseQR<KKTSparse, Eigen::COLAMDOrdering<int>>;
  Solver qr_;
  NullSpaceProjection null_space_;
};

class SparseQR final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"sparse_qr", false, true, true,
            "sparse rank-revealing QR, minimum-norm least squares (Eigen SparseQR)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    auto factorization = std::make_unique<SparseQRFactorization>(K);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_sparse_qr() { return std::make_unique<SparseQR>(); }

}  // namespace dqp::kkt
