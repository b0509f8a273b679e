// The dense LDLᵀ linear solver (LAPACK Bunch–Kaufman): solves of symmetric
// indefinite K, refusal of singular K, concurrent solves, and gradients
// through the layer against finite differences.
#include <cstdlib>
#include <string>

#include "linear_solver_checks.hpp"

namespace dqp::test {
namespace {

TEST(Ldlt, IsTheReferencesScipyLDL) {
  EXPECT_EQ(resolve_linear_solver_name("ldlt"), "ldlt");
  EXPECT_EQ(resolve_linear_solver_name("scipy LDL"), "ldlt");
  const LinearSolverInfo info = make_linear_solver("ldlt")->info();
  EXPECT_TRUE(info.dense);
  EXPECT_FALSE(info.sparse);
  EXPECT_FALSE(info.least_squares);
  // Which LAPACK: MKL's unless disabled or missing (Ldlt.SystemLapack).
  const char* disable = std::getenv("DQP_DISABLE_MKL");
  if (disable && std::string(disable) == "1") {
    EXPECT_NE(info.description.find("system LAPACK"), std::string::npos) << info.description;
  }
}

TEST(Ldlt, SolvesIndefiniteK) {
  expect_solves_regular_kkt("ldlt", false, false, 201);
  expect_solves_regular_kkt("ldlt", false, true, 202);
}

TEST(Ldlt, EmptyK) {
  const auto factorization = make_linear_solver("ldlt")->factorize(KKTDense(0, 0));
  ASSERT_NE(factorization, nullptr);
  Vector x(0);
  factorization->solve(x);
}

TEST(Ldlt, RefusesSingularK) { expect_refuses_singular_kkt("ldlt", false, 203); }

TEST(Ldlt, ConcurrentSolvesOnOneFactorization) { expect_concurrent_solves("ldlt", false, 204); }

TEST(Ldlt, GradientsMatchFiniteDifferences) {
  expect_gradients_match_finite_differences("ldlt", Constraints::Both, false, 205);
  expect_gradients_match_finite_differences("ldlt", Constraints::EqualitiesOnly, false, 206);
  expect_gradients_match_finite_differences("ldlt", Constraints::InequalitiesOnly, false, 207);
}

TEST(Ldlt, SingularKFallsBackAndIsFlagged) { expect_singular_kkt_falls_back("ldlt", false, 208); }

}  // namespace
}  // namespace dqp::test
