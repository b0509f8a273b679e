// The Schur-complement linear solver (Cholesky of P and of Ã P⁻¹ Ãᵀ): solves
// when P is positive definite, refusal otherwise (the core then falls back to
// a pivoted factorization, without flagging the solution), concurrent solves,
// and gradients through the layer against finite differences.
#include "linear_solver_checks.hpp"

namespace dqp::test {
namespace {

TEST(SchurLLT, IsDenseOnly) {
  const LinearSolverInfo info = make_linear_solver("schur_llt")->info();
  EXPECT_TRUE(info.dense);
  EXPECT_FALSE(info.sparse);
  EXPECT_FALSE(info.least_squares);
}

TEST(SchurLLT, SolvesKWithPositiveDefiniteP) { expect_solves_regular_kkt("schur_llt", false, true, 301); }

TEST(SchurLLT, RefusesSingularK) { expect_refuses_singular_kkt("schur_llt", false, 302); }

// K is regular, but P is only semidefinite (or indefinite, or P's block size
// is wrong): no Cholesky of P, no factorization.
TEST(SchurLLT, RefusesPNotPositiveDefinite) {
  std::mt19937 rng(303);
  Eigen::MatrixXd P = Eigen::MatrixXd::Identity(4, 4);
  P(3, 3) = 0.0;
  Eigen::MatrixXd A = gaussian_matrix(rng, 2, 4);
  A(1, 3) = 5.0;
  const KKTDense K = kkt_matrix(P, A);
  ASSERT_TRUE(Eigen::FullPivLU<KKTDense>(K).isInvertible());
  EXPECT_EQ(factor_kkt("schur_llt", K, 4, false), nullptr);
  P(3, 3) = 1e-14;  // positive, but far too close to singular for P⁻¹
  EXPECT_EQ(factor_kkt("schur_llt", kkt_matrix(P, A), 4, false), nullptr);
  P(3, 3) = -1.0;
  EXPECT_EQ(factor_kkt("schur_llt", kkt_matrix(P, A), 4, false), nullptr);
  EXPECT_THROW(factor_kkt("schur_llt", K, 7, false), std::invalid_argument);
}

// Through the layer, a semidefinite P hands over to the pivoted LU: the
// answer is exact and not flagged degenerate. P is singular along z3, which
// the equality z2 + z3 = 0 (two entries: not a bound the core eliminates)
// pins: z = (-1, 1, -1).
TEST(SchurLLT, SemidefinitePFallsBackToLU) {
  DenseQP qp;
  qp.P.resize(3, 3);
  qp.P << 2, 1, 0, 1, 2, 0, 0, 0, 0;
  qp.q = Eigen::Vector3d(1, 0, 1);
  qp.C = RowMatrix(0, 3);
  qp.d = Vector(0);
  qp.A.resize(1, 3);
  qp.A << 0, 1, 1;
  qp.b = Vector::Zero(1);
  Settings settings;
  settings.lin_solver = "schur_llt";
  const Solution s = Layer(settings).forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_EQ(s.linear_solver(), "lu");
  EXPECT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector3d(-1, 1, -1), 1e-9));
}

TEST(SchurLLT, ConcurrentSolvesOnOneFactorization) { expect_concurrent_solves("schur_llt", false, 304); }

TEST(SchurLLT, GradientsMatchFiniteDifferences) {
  expect_gradients_match_finite_differences("schur_llt", Constraints::Both, false, 305);
  expect_gradients_match_finite_differences("schur_llt", Constraints::EqualitiesOnly, false, 306);
  expect_gradients_match_finite_differences("schur_llt", Constraints::InequalitiesOnly, false, 307);
}

// P = M Mᵀ + 1e-4 I (the batch benchmark's problems): the Schur complement
// loses digits to P's condition, but refined solves recover them, so the
// layer keeps schur_llt (it used to hand 48 of 128 such problems to LU, at
// twice the flops) and its solution and gradients are LU's.
TEST(SchurLLT, BadlyConditionedPIsRefinedNotRefused) {
  std::mt19937 rng(309);
  const Index n = 50, m = 50, p = 25;
  Settings lu_settings;
  lu_settings.lin_solver = "lu";
  const Layer layer, lu_layer(lu_settings);
  for (int trial = 0; trial < 16; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    DenseQP qp;
    const Eigen::MatrixXd M = gaussian_matrix(rng, n, n);
    qp.P = M * M.transpose() + 1e-4 * Eigen::MatrixXd::Identity(n, n);
    qp.q = gaussian_matrix(rng, n, 1);
    qp.C = gaussian_matrix(rng, m, n);
    qp.A = gaussian_matrix(rng, p, n);
    const Vector z0 = gaussian_matrix(rng, n, 1);
    qp.d = qp.C * z0 + Vector::Constant(m, 0.5);
    qp.b = qp.A * z0;
    const Solution s = layer.forward(qp.view()), reference = lu_layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    ASSERT_EQ(reference.status, Status::Optimal);
    EXPECT_EQ(s.linear_solver(), "schur_llt");
    EXPECT_EQ(s.active, reference.active);
    EXPECT_TRUE(near_relative(s.z, reference.z, 1e-9));
    const Vector dz = Vector::Ones(n);
    const DenseGradients g = layer.backward(qp.view(), s, dz, Vector(), Vector());
    const DenseGradients g_lu = lu_layer.backward(qp.view(), reference, dz, Vector(), Vector());
    EXPECT_TRUE(near_relative(g.q, g_lu.q, 1e-9));
    EXPECT_TRUE(near_relative(g.d, g_lu.d, 1e-9));
    EXPECT_TRUE(near_relative(g.b, g_lu.b, 1e-9));
  }
}

TEST(SchurLLT, SingularKFallsBackAndIsFlagged) { expect_singular_kkt_falls_back("schur_llt", false, 308); }

}  // namespace
}  // namespace dqp::test
