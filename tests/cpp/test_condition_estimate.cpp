// The condition estimate that sends a numerically singular K to least
// squares (src/kkt/condition_estimate.hpp): its accuracy against the exact
// condition number, and its verdict where a factorization's own pivots see
// nothing wrong.
#include <gtest/gtest.h>

#include <Eigen/LU>
#include <random>

#include "kkt/condition_estimate.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// 1 / cond₁(D K D), D_i = 1/√max_j |K_ij|: what equilibrated_rcond estimates.
double exact_equilibrated_rcond(const KKTDense& K) {
  Vector D = K.cwiseAbs().colwise().maxCoeff().transpose();
  D = D.cwiseSqrt().cwiseInverse();
  const KKTDense M = D.asDiagonal() * K * D.asDiagonal();
  const KKTDense inverse = M.fullPivLu().inverse();
  return 1.0 / (M.cwiseAbs().colwise().sum().maxCoeff() * inverse.cwiseAbs().colwise().sum().maxCoeff());
}

// Q diag(s) Qᵀ with s from 1 down to `smallest`, alternating signs (indefinite, like K).
KKTDense symmetric_with_spectrum(std::mt19937& rng, Index size, double smallest) {
  std::normal_distribution<double> normal;
  const Eigen::MatrixXd G = Eigen::MatrixXd::NullaryExpr(size, size, [&] { return normal(rng); });
  const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ();
  Vector s(size);
  for (Index i = 0; i < size; ++i)
    s[i] = (i % 2 ? -1.0 : 1.0) * std::pow(smallest, static_cast<double>(i) / static_cast<double>(size - 1));
  KKTDense K = Q * s.asDiagonal() * Q.transpose();
  return 0.5 * (K + K.transpose());
}

TEST(ConditionEstimate, IsWithinAFactorOfTheExactConditionNumber) {
  std::mt19937 rng(7);
  const auto lu = make_linear_solver("lu");
  for (double smallest : {1.0, 1e-4, 1e-8, 1e-11}) {
    for (int trial = 0; trial < 5; ++trial) {
      SCOPED_TRACE(::testing::Message() << "smallest singular value " << smallest);
      const KKTDense K = symmetric_with_spectrum(rng, 12, smallest);
      const auto factor = lu->factorize(K);
      ASSERT_TRUE(factor);
      const double exact = exact_equilibrated_rcond(K);
      const double estimate = kkt::equilibrated_rcond(K, *factor);
      // ‖(DKD)⁻¹‖₁ is estimated from below: the reciprocal from above (up to
      // the rounding of the exact inverse itself, ~cond·ε).
      EXPECT_GE(estimate, exact * (1.0 - 1e-4));
      EXPECT_LE(estimate, 10.0 * exact);
      const KKTSparse sparse = K.sparseView();
      EXPECT_NEAR(kkt::equilibrated_rcond(sparse, *factor), estimate, 1e-12 * estimate);
    }
  }
}

// P = [[1, 1], [1, 1 + δ]] with δ = 4e-15: singular but for a rounding-size
// term. A sparse LU without a condition test of its own (KLU, or Eigen's
// SparseLU) factors it with pivots 1 and δ and accepts it; the estimate says
// it is singular. The same matrix with δ = 1 is fine.
TEST(ConditionEstimate, FlagsAKThePivotedFactorizationAccepts) {
  const std::string name = [] {
    for (const LinearSolverInfo& info : linear_solvers())
      if (info.name == "klu") return std::string("klu");
    return std::string("sparse_lu");
  }();
  const auto solver = make_linear_solver(name);
  for (const double delta : {4e-15, 1.0}) {
    SCOPED_TRACE(::testing::Message() << "delta " << delta);
    KKTDense K(2, 2);
    K << 1.0, 1.0, 1.0, 1.0 + delta;
    const KKTSparse sparse = K.sparseView();
    const auto factor = solver->factorize(sparse);
    ASSERT_TRUE(factor) << name << " refused the matrix itself";
    EXPECT_EQ(kkt::numerically_singular(sparse, *factor), delta < 1e-3);
    EXPECT_EQ(kkt::numerically_singular(K, *factor), delta < 1e-3);
  }
}

TEST(ConditionEstimate, AnEmptyMatrixIsRegular) {
  const KKTDense K(0, 0);
  const auto factor = make_linear_solver("lu")->factorize(K);
  ASSERT_TRUE(factor);
  EXPECT_FALSE(kkt::numerically_singular(K, *factor));
}

}  // namespace
}  // namespace dqp::test
