// KLU (SuiteSparse): sparse LU for circuit-like, very sparse matrices.
#include <Eigen/KLUSupport>

#include "suitesparse_common.hpp"

namespace dqp::kkt {
namespace {

class KLU final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"klu", false, true, false, "sparse LU with BTF ordering (SuiteSparse KLU)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    return factorize_or_null<SuiteSparseFactorization<Eigen::KLU<KKTSparse>>>(K);
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_klu() { return std::make_unique<KLU>(); }

}  // namespace dqp::kkt
