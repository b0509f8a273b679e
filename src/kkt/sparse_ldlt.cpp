// Sparse LDLᵀ without pivoting (Eigen::SimplicialLDLT) in a fill-reducing
// order (fill_reducing_order.hpp): the algorithm family of QDLDL. Fast on
// quasi-definite K; a zero pivot hands over to sparse LU. The digits small
// pivots cost are won back by the core's refinement (reduced_kkt.hpp).
#include <Eigen/SparseCholesky>

#include "adapters.hpp"
#include "fill_reducing_order.hpp"

namespace dqp::kkt {
namespace {

using Permutation = Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int>;

class SparseLDLTFactorization final : public KKTFactorization {
 public:
  explicit SparseLDLTFactorization(const KKTSparse& K) {
    const std::vector<int> order = fill_reducing_order(K);
    // permutation_.indices()[row] = the row's position in the order.
    permutation_.resize(static_cast<Index>(order.size()));
    for (Index k = 0; k < static_cast<Index>(order.size()); ++k)
      permutation_.indices()[order[k]] = static_cast<int>(k);
    KKTSparse permuted;
    permuted = K.twistedBy(permutation_);
    ldlt_.compute(permuted);
  }
  bool ok() const {
    if (ldlt_.info() != Eigen::Success) return false;
    // A named vector: vectorD() may be a temporary, and an expression over it
    // would dangle (found by the fuzzer under AddressSanitizer).
    const Vector D = ldlt_.vectorD().cwiseAbs();
    if (D.size() == 0) return true;
    return D.minCoeff() > kSingularPivot * std::max(1.0, D.maxCoeff());
  }
  void solve(Eigen::Ref<Vector> rhs) const override {
    const Vector permuted = permutation_ * Vector(rhs);
    rhs = permutation_.inverse() * Vector(ldlt_.solve(permuted));
  }

 private:
  Permutation permutation_;
  Eigen::SimplicialLDLT<KKTSparse, Eigen::Lower, Eigen::NaturalOrdering<int>> ldlt_;
};

class SparseLDLT final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"sparse_ldlt", false, true, false,
            "sparse LDL^T, AMD ordering (SuiteSparse's when built in), no pivoting "
            "(Eigen SimplicialLDLT)"};
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
