// MKL PARDISO (symmetric indefinite mode): solves of K, refusal of singular K
// (zero pivots, or perturbed pivots whose refined solve is inaccurate),
// concurrent solves, and gradients through the layer against finite
// differences. Built when dqp found MKL's headers; skipped when libmkl_rt
// cannot be opened at run time.
#include "linear_solver_checks.hpp"

namespace dqp::test {
namespace {

bool pardiso_loaded() {
  for (const LinearSolverInfo& info : linear_solvers())
    if (info.name == "pardiso") return true;
  return false;
}

class Pardiso : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pardiso_loaded()) GTEST_SKIP() << "libmkl_rt cannot be opened";
  }
};

TEST_F(Pardiso, IsTheReferencesName) {
  EXPECT_EQ(resolve_linear_solver_name("pardiso"), "pardiso");
  const LinearSolverInfo info = make_linear_solver("pardiso")->info();
  EXPECT_FALSE(info.dense);
  EXPECT_TRUE(info.sparse);
  EXPECT_FALSE(info.least_squares);
}

TEST_F(Pardiso, SolvesIndefiniteK) {
  expect_solves_regular_kkt("pardiso", true, false, 401);
  expect_solves_regular_kkt("pardiso", true, true, 402);
}

TEST_F(Pardiso, RefusesSingularK) { expect_refuses_singular_kkt("pardiso", true, 403); }

TEST_F(Pardiso, ConcurrentSolvesOnOneFactorization) { expect_concurrent_solves("pardiso", true, 404); }

TEST_F(Pardiso, GradientsMatchFiniteDifferences) {
  expect_gradients_match_finite_differences("pardiso", Constraints::Both, true, 405);
  expect_gradients_match_finite_differences("pardiso", Constraints::EqualitiesOnly, true, 406);
  expect_gradients_match_finite_differences("pardiso", Constraints::InequalitiesOnly, true, 407);
}

TEST_F(Pardiso, SingularKFallsBackAndIsFlagged) { expect_singular_kkt_falls_back("pardiso", true, 408); }

}  // namespace
}  // namespace dqp::test
