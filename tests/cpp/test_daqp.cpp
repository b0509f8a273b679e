// DAQP, the dense dual active-set solver: answers, duals, statuses, limits,
// warm start and concurrent use.
#include <gtest/gtest.h>

#include "solver_checks.hpp"

namespace dqp::test {
namespace {

const std::string kDaqp = "daqp";
// An active-set method solves the KKT system of its final working set: its
// raw answers are accurate to rounding, far below the requested tolerance.
constexpr double kActiveSet = 1e-8;

TEST(Daqp, RegisteredAsDenseWithDualsAndWarmStart) {
  const SolverInfo info = make_qp_solver(kDaqp)->info();
  EXPECT_EQ(info.name, kDaqp);
  EXPECT_TRUE(info.dense);
  EXPECT_FALSE(info.sparse);
  EXPECT_TRUE(info.duals);
  EXPECT_TRUE(info.warm_start);
}

TEST(Daqp, SparseProblemIsRefused) {
  const SparseQP qp = to_sparse(seed_problem());
  const std::string message =
      invalid_argument_message([&] { raw_solve(kDaqp, qp, solver_settings(kDaqp)); });
  EXPECT_NE(message.find("does not solve sparse problems"), std::string::npos) << message;
}

TEST(Daqp, BothKindsMatchProxQP) {
  expect_matches_proxqp(kDaqp, Constraints::Both, as_dense, 51, kActiveSet);
}
TEST(Daqp, EqualityOnlyMatchesProxQP) {
  expect_matches_proxqp(kDaqp, Constraints::EqualitiesOnly, as_dense, 52, kActiveSet);
}
TEST(Daqp, InequalityOnlyMatchesProxQP) {
  expect_matches_proxqp(kDaqp, Constraints::InequalitiesOnly, as_dense, 53, kActiveSet);
}
TEST(Daqp, Unconstrained) { expect_unconstrained(kDaqp, as_dense, kActiveSet); }
TEST(Daqp, ZeroByZeroConstraintMatrices) { expect_zero_by_zero_rows(kDaqp, as_dense, kActiveSet); }

// A singular P needs DAQP's proximal-point iterations.
TEST(Daqp, SemidefiniteP) { expect_semidefinite_solved(kDaqp, as_dense); }

// P = 0: DAQP's LP mode. minimize z1 + z2 subject to z ≥ 0 and z1 + 2 z2 ≥ 2:
// z = (0, 1), mu = (1/2, 0, 1/2).
TEST(Daqp, LinearProgram) {
  DenseQP qp;
  qp.P = RowMatrix::Zero(2, 2);
  qp.q = Vector::Ones(2);
  qp.C = RowMatrix(3, 2);
  qp.C << -1, 0, 0, -1, -1, -2;
  qp.d = Vector(3);
  qp.d << 0, 0, -2;
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  const PrimalDual raw = raw_solve(kDaqp, qp, solver_settings(kDaqp));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(0, 1), 1e-6));
  EXPECT_TRUE(near_relative(raw.mu, Eigen::Vector3d(0.5, 0, 0.5), 1e-6));
}

TEST(Daqp, PrimalInfeasible) {
  EXPECT_EQ(raw_solve(kDaqp, infeasible_qp(), solver_settings(kDaqp)).status,
            Status::PrimalInfeasible);
  const DenseQP infeasible = infeasible_qp();
  EXPECT_EQ(Layer(solver_settings(kDaqp)).forward(infeasible.view()).status,
            Status::PrimalInfeasible);
}

TEST(Daqp, Unbounded) {
  EXPECT_EQ(raw_solve(kDaqp, unbounded_qp(), solver_settings(kDaqp)).status,
            Status::DualInfeasible);
}

TEST(Daqp, IterationLimit) {
  const DenseQP qp = many_active_qp();
  Settings settings = solver_settings(kDaqp);
  const PrimalDual full = raw_solve(kDaqp, qp, settings);
  ASSERT_EQ(full.status, Status::Optimal);
  ASSERT_GT(full.iterations, 5);
  settings.max_iter = 3;
  EXPECT_EQ(raw_solve(kDaqp, qp, settings).status, Status::MaxIterations);
}

// DAQP reads its clock every 32 iterations: a problem that needs hundreds
// stops on a tiny time limit.
TEST(Daqp, TimeLimit) {
  const DenseQP qp = many_active_qp(300);
  Settings settings = solver_settings(kDaqp);
  const PrimalDual full = raw_solve(kDaqp, qp, settings);
  ASSERT_EQ(full.status, Status::Optimal);
  ASSERT_GT(full.iterations, 64);
  settings.time_limit = 1e-9;
  EXPECT_EQ(raw_solve(kDaqp, qp, settings).status, Status::MaxIterations);
}

// Started from the solution of a nearby problem (same active set), DAQP
// needs a fraction of the iterations and reaches the same point.
TEST(Daqp, WarmStartFromNearbySolution) {
  DenseQP qp = many_active_qp();
  const Settings settings = solver_settings(kDaqp);
  const PrimalDual previous = raw_solve(kDaqp, qp, settings);
  ASSERT_EQ(previous.status, Status::Optimal);
  qp.q.array() += 1e-4;
  const PrimalDual cold = raw_solve(kDaqp, qp, settings);
  const PrimalDual warm = raw_solve(kDaqp, qp, settings, &previous);
  ASSERT_EQ(cold.status, Status::Optimal);
  ASSERT_EQ(warm.status, Status::Optimal);
  EXPECT_LT(warm.iterations, cold.iterations / 4);
  EXPECT_TRUE(near_relative(warm.z, cold.z, kActiveSet, 1.0));
  EXPECT_TRUE(near_relative(warm.mu, cold.mu, kActiveSet, 1.0));
}

// A warm start whose active set does not fit the problem (here: every row,
// more rows than variables) still ends at the solution.
TEST(Daqp, UnusableWarmStartFallsBackToColdStart) {
  const DenseQP qp = many_active_qp();
  PrimalDual start;
  start.z = Vector::Zero(qp.n());
  start.lam = Vector(0);
  start.mu = Vector::Ones(qp.m());
  const PrimalDual warm = raw_solve(kDaqp, qp, solver_settings(kDaqp), &start);
  const PrimalDual cold = raw_solve(kDaqp, qp, solver_settings(kDaqp));
  ASSERT_EQ(warm.status, Status::Optimal);
  EXPECT_TRUE(near_relative(warm.z, cold.z, kActiveSet, 1.0));
}

TEST(Daqp, ConcurrentSolvesAgree) { expect_concurrent_solves_agree(kDaqp, as_dense); }

}  // namespace
}  // namespace dqp::test
