// Sparse LU with COLAMD ordering and partial pivoting (Eigen::SparseLU):
// robust for any nonsingular K.
#include <Eigen/SparseLU>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class SparseLUFactorization final : public KKTFactorization {
 public:
  explicit SparseLUFactorization(const KKTSparse& K) {
    lu_.analyzePattern(K);
    lu_.factorize(K);
  }
  bool ok() const { return lu_.info() == Eigen::Success; }
  // const: shared factorizations are solved from several threads at once.
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = lu_.solve(Vector(rhs)); }

 private:
  using Solver = Eigen::SparseLU<KKTSparse, Eigen::COLAMDOrdering<int>>;
  Solver lu_;
};

class SparseLU final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"sparse_lu", false, true, false, "sparse LU, COLAMD ordering (Eigen SparseLU)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    auto factorization = std::make_unique<SparseLUFactorization>(K);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_sparse_lu() { return std::make_unique<SparseLU>(); }

}  // namespace dqp::kkt
