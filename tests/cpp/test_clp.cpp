// Clp (barrier, then primal simplex), dense and sparse: answers and duals
// against ProxQP, statuses, limits, silence, the process's SIGINT handler and
// concurrent use. Built when Clp is found.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "solver_checks.hpp"

namespace dqp::test {
namespace {

const std::string kClp = "clp";
// After its simplex phase Clp's raw answers are accurate far below eps_abs.
constexpr double kAccurate = 1e-7;

template <class QP>
PrimalDual clp(const QP& qp, const Settings& settings = solver_settings(kClp)) {
  return raw_solve(kClp, qp, settings);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Clp, RegisteredAsDenseAndSparseWithDuals) {
  const SolverInfo info = make_qp_solver(kClp)->info();
  EXPECT_EQ(info.name, kClp);
  EXPECT_TRUE(info.dense);
  EXPECT_TRUE(info.sparse);
  EXPECT_TRUE(info.duals);
  EXPECT_FALSE(info.warm_start);
}

TEST(Clp, BothKindsMatchProxQPDense) {
  expect_matches_proxqp(kClp, Constraints::Both, as_dense, 61, kAccurate);
}
TEST(Clp, BothKindsMatchProxQPSparse) {
  expect_matches_proxqp(kClp, Constraints::Both, as_sparse, 62, kAccurate);
}
// All rows fixed and all columns free: with Clp's default scaling this case
// looped without end.
TEST(Clp, EqualityOnlyMatchesProxQP) {
  expect_matches_proxqp(kClp, Constraints::EqualitiesOnly, as_dense, 63, kAccurate);
  expect_matches_proxqp(kClp, Constraints::EqualitiesOnly, as_sparse, 64, kAccurate);
}
TEST(Clp, InequalityOnlyMatchesProxQP) {
  expect_matches_proxqp(kClp, Constraints::InequalitiesOnly, as_dense, 65, kAccurate);
  expect_matches_proxqp(kClp, Constraints::InequalitiesOnly, as_sparse, 66, kAccurate);
}
TEST(Clp, Unconstrained) {
  expect_unconstrained(kClp, as_dense, kAccurate);
  expect_unconstrained(kClp, as_sparse, kAccurate);
}
TEST(Clp, ZeroByZeroConstraintMatrices) {
  expect_zero_by_zero_rows(kClp, as_dense, kAccurate);
  expect_zero_by_zero_rows(kClp, as_sparse, kAccurate);
}
TEST(Clp, SemidefiniteP) {
  expect_semidefinite_solved(kClp, as_dense);
  expect_semidefinite_solved(kClp, as_sparse);
}

// P = [[2, 1], [1, 2]], q = (-1, -1), z1 + z2 ≤ 0.2, z1 - z2 = 0.1: the
// constraints fix z = (0.15, 0.05); stationarity gives mu = 0.7, lam = -0.05.
// An off-diagonal entry of P counted twice (Clp stores one triangle), or
// Clp's row duals taken with their own sign, would show here.
TEST(Clp, DualSignsAndOffDiagonalOfP) {
  DenseQP qp;
  qp.P = RowMatrix(2, 2);
  qp.P << 2, 1, 1, 2;
  qp.q = Vector::Constant(2, -1.0);
  qp.C = RowMatrix(1, 2);
  qp.C << 1, 1;
  qp.d = Vector::Constant(1, 0.2);
  qp.A = RowMatrix(1, 2);
  qp.A << 1, -1;
  qp.b = Vector::Constant(1, 0.1);
  for (const PrimalDual& point : {clp(qp), clp(to_sparse(qp))}) {
    ASSERT_EQ(point.status, Status::Optimal);
    EXPECT_TRUE(near_relative(point.z, Eigen::Vector2d(0.15, 0.05), 1e-9));
    EXPECT_TRUE(near_relative(point.lam, Vector::Constant(1, -0.05), 1e-9));
    EXPECT_TRUE(near_relative(point.mu, Vector::Constant(1, 0.7), 1e-9));
  }
}

// P = 0 loads no quadratic objective: Clp solves the LP. minimize z1 + z2
// subject to z ≥ 0 and z1 + 2 z2 ≥ 2: z = (0, 1), mu = (1/2, 0, 1/2).
TEST(Clp, LinearProgram) {
  DenseQP qp;
  qp.P = RowMatrix::Zero(2, 2);
  qp.q = Vector::Ones(2);
  qp.C = RowMatrix(3, 2);
  qp.C << -1, 0, 0, -1, -1, -2;
  qp.d = Vector(3);
  qp.d << 0, 0, -2;
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  for (const PrimalDual& point : {clp(qp), clp(to_sparse(qp))}) {
    ASSERT_EQ(point.status, Status::Optimal);
    EXPECT_TRUE(near_relative(point.z, Eigen::Vector2d(0, 1), 1e-9));
    EXPECT_TRUE(near_relative(point.mu, Eigen::Vector3d(0.5, 0, 0.5), 1e-9));
  }
}

TEST(Clp, InfeasibleIsPrimalInfeasible) {
  EXPECT_EQ(clp(infeasible_qp()).status, Status::PrimalInfeasible);
  EXPECT_EQ(clp(to_sparse(infeasible_qp())).status, Status::PrimalInfeasible);
  const DenseQP infeasible = infeasible_qp();
  EXPECT_EQ(Layer(solver_settings(kClp)).forward(infeasible.view()).status,
            Status::PrimalInfeasible);
}

// Clp itself answers "optimal" with z2 at its infinity (1e30).
TEST(Clp, UnboundedIsDualInfeasible) {
  EXPECT_EQ(clp(unbounded_qp()).status, Status::DualInfeasible);
  EXPECT_EQ(clp(to_sparse(unbounded_qp())).status, Status::DualInfeasible);
}

TEST(Clp, IterationLimitIsMaxIterations) {
  const DenseQP qp = many_active_qp(300);
  ASSERT_EQ(clp(qp).status, Status::Optimal);
  Settings settings = solver_settings(kClp);
  settings.max_iter = 2;
  EXPECT_EQ(clp(qp, settings).status, Status::MaxIterations);
}

// 300 variables, most rows active: a solve of a good fraction of a second.
TEST(Clp, TimeLimitIsMaxIterations) {
  const DenseQP qp = many_active_qp(300);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(clp(qp).status, Status::Optimal);
  const double full = seconds_since(start);
  Settings settings = solver_settings(kClp);
  settings.time_limit = full / 20;
  const auto limited_start = std::chrono::steady_clock::now();
  EXPECT_EQ(clp(qp, settings).status, Status::MaxIterations);
  const double limited = seconds_since(limited_start);
  EXPECT_LT(limited, full / 2) << "the limited solve took " << limited << " s of " << full << " s";
}

// Clp prints through its message handler and, in a few places, straight to
// stdout: nothing may reach the terminal unless verbose.
TEST(Clp, SilentUnlessVerbose) {
  std::mt19937 rng(70);
  ::testing::internal::CaptureStdout();
  for (int trial = 0; trial < 6; ++trial) {
    const GeneratedQP g = random_qp(rng, random_shape(rng, Constraints::Both, 0.6));
    clp(g.qp);
    clp(to_sparse(g.qp));
  }
  clp(infeasible_qp());
  clp(unbounded_qp());
  clp(semidefinite_qp());
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");

  Settings verbose = solver_settings(kClp);
  verbose.verbose = true;
  ::testing::internal::CaptureStdout();
  clp(seed_problem(), verbose);
  EXPECT_NE(::testing::internal::GetCapturedStdout(), "");
}

// ClpSimplex::initialSolve() swaps the process's SIGINT handler during a
// solve, which races between threads and could leave Python's Ctrl-C
// handler replaced: the adapter must not touch it.
void marker_handler(int) {}

TEST(Clp, LeavesTheSigintHandlerAlone) {
  const auto previous = std::signal(SIGINT, marker_handler);
  clp(seed_problem());
  clp(infeasible_qp());
  EXPECT_EQ(std::signal(SIGINT, previous), &marker_handler);
}

TEST(Clp, ConcurrentSolvesAgreeDense) { expect_concurrent_solves_agree(kClp, as_dense); }
TEST(Clp, ConcurrentSolvesAgreeSparse) { expect_concurrent_solves_agree(kClp, as_sparse); }

}  // namespace
}  // namespace dqp::test
