// Dense LU with partial pivoting (Eigen::PartialPivLU): the general-purpose
// dense choice; K is symmetric indefinite, which rules out plain LLT/LDLT.
#include <Eigen/LU>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

class DenseLUFactorization final : public KKTFactorization {
 public:
  explicit DenseLUFactorization(const KKTDense& K) : lu_(K) {}
  // Both tests: rcond() misses an exactly zero last pivot (it returned 1/6 for
  // a K with dependent rows), and is NaN for some singular matrices.
  bool singular() const {
    const Vector pivots = lu_.matrixLU().diagonal().cwiseAbs();
    if (pivots.size() == 0) return false;
    const bool tiny_pivot = !(pivots.minCoeff() > kSingularPivot * pivots.maxCoeff());
    return tiny_pivot || !(lu_.rcond() >= kSingularPivot);
  }
  void solve(Eigen::Ref<Vector> rhs) const override { rhs = lu_.solve(rhs); }
  bool checks_condition() const override { return true; }

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
