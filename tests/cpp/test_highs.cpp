// HiGHS, the sparse active-set QP solver (dense data converted): answers, dual
// signs, statuses, limits, silence and concurrent use.
#include <gtest/gtest.h>

#include "solver_checks.hpp"

namespace dqp::test {
namespace {

const std::string kHighs = "highs";
// HiGHS adds 1e-7 to P's diagonal (qp_regularization_value): its raw answers
// are off by about that much.
constexpr double kRegularized = 1e-5;

TEST(Highs, RegisteredAsDenseAndSparseWithDuals) {
  const SolverInfo info = make_qp_solver(kHighs)->info();
  EXPECT_EQ(info.name, kHighs);
  EXPECT_TRUE(info.dense);
  EXPECT_TRUE(info.sparse);
  EXPECT_TRUE(info.duals);
  EXPECT_FALSE(info.warm_start);
}

TEST(Highs, BothKindsMatchProxQPDense) {
  expect_matches_proxqp(kHighs, Constraints::Both, as_dense, 61, kRegularized);
}
TEST(Highs, BothKindsMatchProxQPSparse) {
  expect_matches_proxqp(kHighs, Constraints::Both, as_sparse, 62, kRegularized);
}
TEST(Highs, EqualityOnlyMatchesProxQPDense) {
  expect_matches_proxqp(kHighs, Constraints::EqualitiesOnly, as_dense, 63, kRegularized);
}
TEST(Highs, EqualityOnlyMatchesProxQPSparse) {
  expect_matches_proxqp(kHighs, Constraints::EqualitiesOnly, as_sparse, 64, kRegularized);
}
TEST(Highs, InequalityOnlyMatchesProxQPDense) {
  expect_matches_proxqp(kHighs, Constraints::InequalitiesOnly, as_dense, 65, kRegularized);
}
TEST(Highs, InequalityOnlyMatchesProxQPSparse) {
  expect_matches_proxqp(kHighs, Constraints::InequalitiesOnly, as_sparse, 66, kRegularized);
}
TEST(Highs, UnconstrainedDense) { expect_unconstrained(kHighs, as_dense, kRegularized); }
TEST(Highs, UnconstrainedSparse) { expect_unconstrained(kHighs, as_sparse, kRegularized); }
TEST(Highs, ZeroByZeroConstraintMatricesDense) {
  expect_zero_by_zero_rows(kHighs, as_dense, kRegularized);
}
TEST(Highs, ZeroByZeroConstraintMatricesSparse) {
  expect_zero_by_zero_rows(kHighs, as_sparse, kRegularized);
}
TEST(Highs, SemidefinitePDense) { expect_semidefinite_solved(kHighs, as_dense); }
TEST(Highs, SemidefinitePSparse) { expect_semidefinite_solved(kHighs, as_sparse); }

// P = 0 goes to HiGHS's simplex. minimize z1 + z2 subject to z ≥ 0 and
// z1 + 2 z2 ≥ 2: z = (0, 1), mu = (1/2, 0, 1/2).
DenseQP linear_program() {
  DenseQP qp;
  qp.P = RowMatrix::Zero(2, 2);
  qp.q = Vector::Ones(2);
  qp.C = RowMatrix(3, 2);
  qp.C << -1, 0, 0, -1, -1, -2;
  qp.d = Vector(3);
  qp.d << 0, 0, -2;
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

TEST(Highs, LinearProgram) {
  for (bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    const PrimalDual raw = sparse ? raw_solve(kHighs, to_sparse(linear_program()), solver_settings(kHighs))
                                  : raw_solve(kHighs, linear_program(), solver_settings(kHighs));
    ASSERT_EQ(raw.status, Status::Optimal);
    EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(0, 1), 1e-9));
    EXPECT_TRUE(near_relative(raw.mu, Eigen::Vector3d(0.5, 0, 0.5), 1e-9));
  }
}

TEST(Highs, PrimalInfeasible) {
  EXPECT_EQ(raw_solve(kHighs, infeasible_qp(), solver_settings(kHighs)).status,
            Status::PrimalInfeasible);
  EXPECT_EQ(raw_solve(kHighs, to_sparse(infeasible_qp()), solver_settings(kHighs)).status,
            Status::PrimalInfeasible);
  DenseQP lp = infeasible_qp();
  lp.P.setZero();
  EXPECT_EQ(raw_solve(kHighs, lp, solver_settings(kHighs)).status, Status::PrimalInfeasible);
}

TEST(Highs, Unbounded) {
  EXPECT_EQ(raw_solve(kHighs, unbounded_qp(), solver_settings(kHighs)).status,
            Status::DualInfeasible);
  EXPECT_EQ(raw_solve(kHighs, to_sparse(unbounded_qp()), solver_settings(kHighs)).status,
            Status::DualInfeasible);
  DenseQP lp = unbounded_qp();
  lp.P.setZero();
  EXPECT_EQ(raw_solve(kHighs, lp, solver_settings(kHighs)).status, Status::DualInfeasible);
}

TEST(Highs, IterationLimit) {
  const SparseQP qp = to_sparse(many_active_qp());
  Settings settings = solver_settings(kHighs);
  const PrimalDual full = raw_solve(kHighs, qp, settings);
  ASSERT_EQ(full.status, Status::Optimal);
  ASSERT_GT(full.iterations, 5);
  settings.max_iter = 3;
  EXPECT_EQ(raw_solve(kHighs, qp, settings).status, Status::MaxIterations);
}

TEST(Highs, TimeLimit) {
  const SparseQP qp = to_sparse(many_active_qp(300));
  Settings settings = solver_settings(kHighs);
  ASSERT_EQ(raw_solve(kHighs, qp, settings).status, Status::Optimal);
  settings.time_limit = 1e-9;
  EXPECT_EQ(raw_solve(kHighs, qp, settings).status, Status::MaxIterations);
}

// verbose = false: not a character, HiGHS's banner included; verbose = true
// lets HiGHS talk (so the capture does see its output).
TEST(Highs, SilentUnlessVerbose) {
  const SparseQP qp = to_sparse(many_active_qp());
  for (bool verbose : {false, true}) {
    Settings settings = solver_settings(kHighs);
    settings.verbose = verbose;
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const PrimalDual raw = raw_solve(kHighs, qp, settings);
    std::fflush(nullptr);
    const std::string out = ::testing::internal::GetCapturedStdout();
    const std::string err = ::testing::internal::GetCapturedStderr();
    ASSERT_EQ(raw.status, Status::Optimal);
    if (verbose) {
      EXPECT_NE(out + err, "");
    } else {
      EXPECT_EQ(out, "");
      EXPECT_EQ(err, "");
    }
  }
}

TEST(Highs, ConcurrentSolvesAgreeDense) { expect_concurrent_solves_agree(kHighs, as_dense); }
TEST(Highs, ConcurrentSolvesAgreeSparse) { expect_concurrent_solves_agree(kHighs, as_sparse); }

}  // namespace
}  // namespace dqp::test
