// PIQP, the proximal interior-point solver (dense and sparse): answers, duals,
// statuses, limits and concurrent use.
#include <gtest/gtest.h>

#include "solver_checks.hpp"

namespace dqp::test {
namespace {

const std::string kPiqp = "piqp";
// An interior-point method stops near, not at, the boundary: at eps_abs =
// 1e-9 its raw answers are accurate to about that, and to 1e-7 relative.
constexpr double kInteriorPoint = 1e-7;

TEST(Piqp, RegisteredAsDenseAndSparseWithDualsWithoutWarmStart) {
  const SolverInfo info = make_qp_solver(kPiqp)->info();
  EXPECT_EQ(info.name, kPiqp);
  EXPECT_TRUE(info.dense);
  EXPECT_TRUE(info.sparse);
  EXPECT_TRUE(info.duals);
  EXPECT_FALSE(info.warm_start);
}

TEST(Piqp, BothKindsMatchProxQPDense) {
  expect_matches_proxqp(kPiqp, Constraints::Both, as_dense, 61, kInteriorPoint);
}
TEST(Piqp, BothKindsMatchProxQPSparse) {
  expect_matches_proxqp(kPiqp, Constraints::Both, as_sparse, 62, kInteriorPoint);
}
TEST(Piqp, EqualityOnlyMatchesProxQPDense) {
  expect_matches_proxqp(kPiqp, Constraints::EqualitiesOnly, as_dense, 63, kInteriorPoint);
}
TEST(Piqp, EqualityOnlyMatchesProxQPSparse) {
  expect_matches_proxqp(kPiqp, Constraints::EqualitiesOnly, as_sparse, 64, kInteriorPoint);
}
TEST(Piqp, InequalityOnlyMatchesProxQPDense) {
  expect_matches_proxqp(kPiqp, Constraints::InequalitiesOnly, as_dense, 65, kInteriorPoint);
}
TEST(Piqp, InequalityOnlyMatchesProxQPSparse) {
  expect_matches_proxqp(kPiqp, Constraints::InequalitiesOnly, as_sparse, 66, kInteriorPoint);
}
TEST(Piqp, UnconstrainedDense) { expect_unconstrained(kPiqp, as_dense, kInteriorPoint); }
TEST(Piqp, UnconstrainedSparse) { expect_unconstrained(kPiqp, as_sparse, kInteriorPoint); }
TEST(Piqp, ZeroByZeroConstraintMatricesDense) {
  expect_zero_by_zero_rows(kPiqp, as_dense, kInteriorPoint);
}
TEST(Piqp, ZeroByZeroConstraintMatricesSparse) {
  expect_zero_by_zero_rows(kPiqp, as_sparse, kInteriorPoint);
}
TEST(Piqp, SemidefinitePDense) { expect_semidefinite_solved(kPiqp, as_dense); }
TEST(Piqp, SemidefinitePSparse) { expect_semidefinite_solved(kPiqp, as_sparse); }

// The seed example's duals by hand: mu = (1, 0, 0) ≥ 0 in dqp's convention
// P z + q + Cᵀmu = 0, whatever sign PIQP uses internally.
template <class QP>
void expect_seed_duals(const QP& qp) {
  const PrimalDual raw = raw_solve(kPiqp, qp, solver_settings(kPiqp));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(0.5, 0.5), kInteriorPoint));
  EXPECT_TRUE(near_relative(raw.mu, Eigen::Vector3d(1, 0, 0), kInteriorPoint));
  EXPECT_EQ(raw.lam.size(), 0);
}
TEST(Piqp, DualSignsDense) { expect_seed_duals(seed_problem()); }
TEST(Piqp, DualSignsSparse) { expect_seed_duals(to_sparse(seed_problem())); }

// The equality dual's sign: minimize ½|z|² subject to z1 + z2 = 2 has
// z = (1, 1) and z + lam (1, 1) = 0, so lam = -1.
template <class ToQP>
void expect_equality_dual(ToQP to_qp) {
  DenseQP dense;
  dense.P = RowMatrix::Identity(2, 2);
  dense.q = Vector::Zero(2);
  dense.C = RowMatrix(0, 2);
  dense.d = Vector(0);
  dense.A = RowMatrix::Ones(1, 2);
  dense.b = Vector::Constant(1, 2.0);
  const PrimalDual raw = raw_solve(kPiqp, to_qp(dense), solver_settings(kPiqp));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(1, 1), kInteriorPoint));
  EXPECT_TRUE(near_relative(raw.lam, Vector::Constant(1, -1.0), kInteriorPoint));
}
TEST(Piqp, EqualityDualSignDense) { expect_equality_dual(as_dense); }
TEST(Piqp, EqualityDualSignSparse) { expect_equality_dual(as_sparse); }

// minimize ½|z - (2, -2, 0.5)|² subject to 2 z1 ≤ 2, z1 ≤ 5, -3 z2 ≤ 3,
// z2 + z3 ≤ 1, -z2 - z3 ≤ 0 (twice) and -z1 ≤ 10. The adapter gives PIQP bounds
// (z1 ≤ 1, z2 ≥ -1, z1 ≥ -10) and one two-sided row 0 ≤ z2 + z3 ≤ 1; the
// looser z1 ≤ 5 and the second copy of the active row get zero duals.
// Solution z = (1, -1, 1), mu = (1/2, 0, 1/6, 0, 1/2, 0, 0).
template <class ToQP>
void expect_rows_grouped(ToQP to_qp) {
  DenseQP dense;
  dense.P = RowMatrix::Identity(3, 3);
  dense.q = -Eigen::Vector3d(2, -2, 0.5);
  dense.C = RowMatrix(7, 3);
  dense.C << 2, 0, 0,  1, 0, 0,  0, -3, 0,  0, 1, 1,  0, -1, -1,  0, -1, -1,  -1, 0, 0;
  dense.d = Vector(7);
  dense.d << 2, 5, 3, 1, 0, 0, 10;
  dense.A = RowMatrix(0, 3);
  dense.b = Vector(0);
  const auto qp = to_qp(dense);
  const PrimalDual raw = raw_solve(kPiqp, qp, solver_settings(kPiqp));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector3d(1, -1, 1), kInteriorPoint));
  Vector mu(7);
  mu << 0.5, 0, 1.0 / 6, 0, 0.5, 0, 0;
  EXPECT_TRUE(near_relative(raw.mu, mu, kInteriorPoint));
  EXPECT_EQ(raw.mu[1], 0.0);
  EXPECT_EQ(raw.mu[5], 0.0);
  EXPECT_LE(kkt_violation(qp.view(), as_solution(raw)), kInteriorPoint);
}
TEST(Piqp, BoundsAndTwoSidedRowsDense) { expect_rows_grouped(as_dense); }
TEST(Piqp, BoundsAndTwoSidedRowsSparse) { expect_rows_grouped(as_sparse); }

// Rows with d beyond PIQP's infinity (1e30) are absent to it: the adapter
// drops them (PIQP would print a warning on stderr) and gives them zero duals.
template <class ToQP>
void expect_unbounded_rows_dropped(ToQP to_qp) {
  DenseQP dense = seed_problem();
  dense.C.conservativeResize(5, 2);
  dense.C.row(3) << 1, 0;
  dense.C.row(4) << 0, -1;
  dense.d.conservativeResize(5);
  dense.d.tail(2) << 1e31, 1e50;
  ::testing::internal::CaptureStderr();
  const PrimalDual raw = raw_solve(kPiqp, to_qp(dense), solver_settings(kPiqp));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(0.5, 0.5), kInteriorPoint));
  Vector mu = Vector::Zero(5);
  mu[0] = 1.0;
  EXPECT_TRUE(near_relative(raw.mu, mu, kInteriorPoint));
  EXPECT_EQ(raw.mu[3], 0.0);
  EXPECT_EQ(raw.mu[4], 0.0);
}
TEST(Piqp, RowsBeyondInfinityDroppedDense) { expect_unbounded_rows_dropped(as_dense); }
TEST(Piqp, RowsBeyondInfinityDroppedSparse) { expect_unbounded_rows_dropped(as_sparse); }

// dqp's default eps_rel = 0 (the adapter keeps PIQP's relative floor) and
// eps_abs = 0 (allowed with eps_rel > 0; PIQP needs eps_abs > 0) converge.
TEST(Piqp, AbsoluteOnlyAndRelativeOnlyTolerancesConverge) {
  std::mt19937 rng(67);
  const DenseQP qp = random_qp(rng, {12, 3, 5, 10, 1.0}).qp;
  for (const auto& [eps_abs, eps_rel] : {std::pair{1e-9, 0.0}, std::pair{0.0, 1e-9}}) {
    Settings settings = solver_settings(kPiqp, eps_abs);
    settings.eps_rel = eps_rel;
    const PrimalDual raw = raw_solve(kPiqp, qp, settings);
    ASSERT_EQ(raw.status, Status::Optimal) << "eps_abs " << eps_abs << ", eps_rel " << eps_rel;
    EXPECT_LE(kkt_violation(qp.view(), as_solution(raw)), 1e-6);
  }
}

TEST(Piqp, PrimalInfeasibleDense) {
  EXPECT_EQ(raw_solve(kPiqp, infeasible_qp(), solver_settings(kPiqp)).status,
            Status::PrimalInfeasible);
  const DenseQP infeasible = infeasible_qp();
  EXPECT_EQ(Layer(solver_settings(kPiqp)).forward(infeasible.view()).status,
            Status::PrimalInfeasible);
}
TEST(Piqp, PrimalInfeasibleSparse) {
  const SparseQP qp = to_sparse(infeasible_qp());
  EXPECT_EQ(raw_solve(kPiqp, qp, solver_settings(kPiqp)).status, Status::PrimalInfeasible);
}

TEST(Piqp, UnboundedDense) {
  EXPECT_EQ(raw_solve(kPiqp, unbounded_qp(), solver_settings(kPiqp)).status,
            Status::DualInfeasible);
}
TEST(Piqp, UnboundedSparse) {
  EXPECT_EQ(raw_solve(kPiqp, to_sparse(unbounded_qp()), solver_settings(kPiqp)).status,
            Status::DualInfeasible);
}

TEST(Piqp, IterationLimit) {
  const DenseQP qp = many_active_qp();
  Settings settings = solver_settings(kPiqp);
  const PrimalDual full = raw_solve(kPiqp, qp, settings);
  ASSERT_EQ(full.status, Status::Optimal);
  ASSERT_GT(full.iterations, 1);
  settings.max_iter = 1;
  const PrimalDual stopped = raw_solve(kPiqp, qp, settings);
  EXPECT_EQ(stopped.status, Status::MaxIterations);
  EXPECT_EQ(stopped.iterations, 1);
  EXPECT_EQ(raw_solve(kPiqp, to_sparse(qp), settings).status, Status::MaxIterations);
}

TEST(Piqp, ConcurrentSolvesAgreeDense) { expect_concurrent_solves_agree(kPiqp, as_dense); }
TEST(Piqp, ConcurrentSolvesAgreeSparse) { expect_concurrent_solves_agree(kPiqp, as_sparse); }

}  // namespace
}  // namespace dqp::test
