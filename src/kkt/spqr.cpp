// SuiteSparseQR: multifrontal rank-revealing QR, the minimum-norm least-
// squares solution of a singular sparse K (the sparse degenerate path, like
// sparse_qr; minimum_norm.hpp).
#include <Eigen/SPQRSupport>

#include "suitesparse_common.hpp"

namespace dqp::kkt {
namespace {

class SPQR final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"spqr", false, true, true, "sparse rank-revealing QR, minimum-norm least squares (SuiteSparseQR)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    return factorize_or_null<SuiteSparseFactorization<Eigen::SPQR<KKTSparse>, true>>(K);
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_spqr() { return std::make_unique<SPQR>(); }

}  // namespace dqp::kkt
