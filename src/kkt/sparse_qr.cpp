// Sparse rank-revealing QR (Eigen::SparseQR): a least-squares solution of a
// singular sparse K, the sparse degenerate path. Unlike the dense path it is
// not the minimum-norm solution: free components are set to zero.
#include <Eigen/SparseQR>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class SparseQRFactorization final : public KKTFactorization {
 public:
  explicit SparseQRFactorization(const KKTSparse& K) {
    qr_.compute(K);
  }
  bool ok() const { return qr_.info() == Eigen::Success; }
  bool rank_deficient() const override { return qr_.rank() < qr_.cols(); }
  // const: shared factorizations are solved from several threads at once.
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = qr_.solve(Vector(rhs)); }

 private:
  using Solver = Eigen::SparseQR<KKTSparse, Eigen::COLAMDOrdering<int>>;
  Solver qr_;
};

class SparseQR final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"sparse_qr", false, true, true,
            "sparse rank-revealing QR, least squares (Eigen SparseQR)"};
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
