// Sparse LDLᵀ without pivoting, AMD ordering (Eigen::SimplicialLDLT): the
// algorithm family of QDLDL. Fast on quasi-definite K; a zero pivot hands over
// to sparse LU.
#include <Eigen/SparseCholesky>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class SparseLDLTFactorization final : public KKTFactorization {
 public:
  explicit SparseLDLTFactorization(const KKTSparse& K) { ldlt_.compute(K); }
  bool ok() const {
    if (ldlt_.info() != Eigen::Success) return false;
    // A named vector: vectorD() may be a temporary, and an expression over it
    // would dangle (found by the fuzzer under AddressSanitizer).
    const Vector D = ldlt_.vectorD().cwiseAbs();
    if (D.size() == 0) return true;
    return D.minCoeff() > kSingularPivot * std::max(1.0, D.maxCoeff());
  }
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = ldlt_.solve(Vector(rhs)); }

 private:
  Eigen::SimplicialLDLT<KKTSparse, Eigen::Lower> ldlt_;
};

class SparseLDLT final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"sparse_ldlt", false, true, false,
            "sparse LDL^T, AMD ordering, no pivoting (Eigen SimplicialLDLT)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    auto factorization = std::make_unique<SparseLDLTFactorization>(K);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_sparse_ldlt() { return std::make_unique<SparseLDLT>(); }

}  // namespace dqp::kkt
