// Dense LU with partial pivoting (Eigen::PartialPivLU): the general-purpose
// dense choice; K is symmetric indefinite, which rules out plain LLT/LDLT.
#include <Eigen/LU>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class DenseLUFactorization final : public KKTFactorization {
 public:
  explicit DenseLUFactorization(const KKTDense& K) : lu_(K) {}
  bool singular() const { return lu_.rcond() < kSingularPivot; }
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = lu_.solve(rhs); }

 private:
  Eigen::PartialPivLU<KKTDense> lu_;
};

class DenseLU final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"lu", true, false, false, "dense LU with partial pivoting (Eigen)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTDense& K) const override {
    auto factorization = std::make_unique<DenseLUFactorization>(K);
    if (factorization->singular()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_dense_lu() { return std::make_unique<DenseLU>(); }

}  // namespace dqp::kkt
