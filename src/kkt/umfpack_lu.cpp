// UMFPACK's multifrontal LU with partial pivoting (SuiteSparse).
#include <Eigen/UmfPackSupport>

#include "suitesparse_common.hpp"

namespace dqp::kkt {
namespace {

class UmfpackLU final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"umfpack", false, true, false, "sparse multifrontal LU (SuiteSparse UMFPACK)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    return factorize_or_null<SuiteSparseFactorization<Eigen::UmfPackLU<KKTSparse>>>(K);
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_umfpack() { return std::make_unique<UmfpackLU>(); }

}  // namespace dqp::kkt
