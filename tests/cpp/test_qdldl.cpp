// The QDLDL linear solver: regularized LDLᵀ with iterative refinement. Its
// solves against the unregularized K, its refusal of singular K (the core
// then falls back), gradients against the other sparse linear solvers, and
// concurrent solves on one factorization.
#include <gtest/gtest.h>

#include "linear_solver_checks.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

std::unique_ptr<KKTFactorization> factor(const KKTSparse& K) {
  return make_linear_solver("qdldl")->factorize(K);
}

// K = [[P, Aᵀ], [A, 0]] from dense blocks.
KKTSparse kkt(const Eigen::MatrixXd& P, const Eigen::MatrixXd& A) {
  const Index n = P.rows(), k = A.rows();
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n + k, n + k);
  K.topLeftCorner(n, n) = P;
  K.bottomLeftCorner(k, n) = A;
  K.topRightCorner(n, k) = A.transpose();
  return K.sparseView();
}

double relative_residual(const KKTSparse& K, const Vector& x, const Vector& b) {
  const Vector Kx = K * x;
  return (Kx - b).cwiseAbs().maxCoeff() / (1.0 + b.cwiseAbs().maxCoeff() + Kx.cwiseAbs().maxCoeff());
}

Eigen::MatrixXd gaussian(std::mt19937& rng, Index rows, Index cols, double density = 1.0) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  return Eigen::MatrixXd::NullaryExpr(rows, cols,
                                      [&] { return uniform(rng) < density ? normal(rng) : 0.0; });
}

TEST(Qdldl, IsTheReferenceName) {
  EXPECT_EQ(resolve_linear_solver_name("qdldl"), "qdldl");
  const LinearSolverInfo info = make_linear_solver("qdldl")->info();
  EXPECT_TRUE(info.sparse);
  EXPECT_FALSE(info.dense);
  EXPECT_FALSE(info.least_squares);
}

// Random K with a positive semidefinite, often singular, P and a full-rank
// A: nonsingular but not quasi-definite. The answer solves K itself, not
// the regularized matrix that was factored.
TEST(Qdldl, SolvesTheUnregularizedSystem) {
  std::mt19937 rng(81);
  for (int trial = 0; trial < 40; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const Index n = 5 + trial, k = 1 + trial / 2, rank = trial % 3 == 0 ? n - k : n;
    const Eigen::MatrixXd B = gaussian(rng, rank, n);
    const Eigen::MatrixXd P = B.transpose() * B;
    Eigen::MatrixXd A = gaussian(rng, k, n, 0.4);
    A.leftCols(k).diagonal().array() += 3.0;  // full row rank
    const KKTSparse K = kkt(P, A);
    const Eigen::FullPivLU<Eigen::MatrixXd> dense{Eigen::MatrixXd(K)};
    ASSERT_TRUE(dense.isInvertible());
    const auto factorization = factor(K);
    ASSERT_NE(factorization, nullptr);
    const Vector b = gaussian(rng, n + k, 1);
    Vector x = b;
    factorization->solve(x);
    const Vector expected = dense.solve(b);
    EXPECT_LE(relative_residual(K, x, b), std::max(2 * relative_residual(K, expected, b), 1e-12));
    EXPECT_TRUE(near_relative(x, expected, 1e-8, 1.0));
  }
}

// Singular K: refinement cannot converge, the factorization is refused.
TEST(Qdldl, RefusesSingularK) {
  std::mt19937 rng(82);
  const Eigen::MatrixXd B = gaussian(rng, 6, 6);
  const Eigen::MatrixXd P = B.transpose() * B;
  // Two equal constraint rows.
  Eigen::MatrixXd A = gaussian(rng, 3, 6);
  A.row(2) = A.row(1);
  EXPECT_EQ(factor(kkt(P, A)), nullptr);
  // A variable that appears nowhere: a zero row (the P block is then read
  // as one variable shorter).
  Eigen::MatrixXd P0 = P;
  P0.row(5).setZero();
  P0.col(5).setZero();
  Eigen::MatrixXd A0 = gaussian(rng, 2, 6);
  A0.col(5).setZero();
  EXPECT_EQ(factor(kkt(P0, A0)), nullptr);
  // P singular on the null space of A.
  Eigen::MatrixXd Pl = Eigen::MatrixXd::Zero(4, 4);
  Pl(0, 0) = 1.0;
  EXPECT_EQ(factor(kkt(Pl, gaussian(rng, 1, 4))), nullptr);
}

// Ill-conditioned K: a factorization is returned only while its solves are
// as accurate as the pivoted LU's; nearly singular K are refused.
TEST(Qdldl, ReturnedFactorizationsAreAsAccurateAsLU) {
  std::mt19937 rng(83);
  int accepted = 0;
  for (int trial = 0; trial < 30; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const Index n = 12, k = 4;
    const Eigen::MatrixXd B = gaussian(rng, n, n);
    Eigen::MatrixXd P = B.transpose() * B;
    Eigen::MatrixXd A = gaussian(rng, k, n);
    // Rows of A closer and closer to dependent.
    A.row(3) = A.row(2) + std::pow(10.0, -0.5 * trial) * A.row(3);
    const KKTSparse K = kkt(P, A);
    const auto factorization = factor(K);
    if (!factorization) continue;
    ++accepted;
    const Vector b = gaussian(rng, n + k, 1);
    Vector x = b;
    factorization->solve(x);
    const auto lu = make_linear_solver("sparse_lu")->factorize(K);
    ASSERT_NE(lu, nullptr);
    Vector y = b;
    lu->solve(y);
    EXPECT_LE(relative_residual(K, x, b), std::max(2 * relative_residual(K, y, b), 1e-14));
  }
  EXPECT_GE(accepted, 6);
  EXPECT_LT(accepted, 20);
}

// The batch engine shares one factorization between threads.
TEST(Qdldl, ConcurrentSolvesOnOneFactorization) { expect_concurrent_solves("qdldl", true, 84); }

// Outputs and gradients equal those of the other sparse linear solvers on
// random sparse problems.
TEST(Qdldl, GradientsMatchOtherSparseSolvers) {
  std::mt19937 rng(85);
  Settings qdldl_settings, lu_settings;
  qdldl_settings.lin_solver = "qdldl";
  lu_settings.lin_solver = "sparse_lu";
  const Layer qdldl(qdldl_settings), lu(lu_settings);
  for (int trial = 0; trial < 10; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    QPShape shape = random_shape(rng, Constraints::Both, 0.3);
    if (trial >= 7) shape = {60, 8, 25, 40, 0.1};
    const GeneratedQP g = random_qp(rng, shape);
    const SparseQP qp = to_sparse(g.qp);
    const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
    const Solution s = qdldl.forward(qp.view()), expected = lu.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_EQ(s.active, expected.active);
    EXPECT_FALSE(s.degenerate()) << describe_degeneracy(s.degeneracy);
    EXPECT_TRUE(near_relative(s.z, expected.z, 1e-10, 1.0));
    EXPECT_TRUE(near_relative(s.mu, expected.mu, 1e-10, 1.0));
    const SparseGradients g1 = qdldl.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
    const SparseGradients g2 = lu.backward(qp.view(), expected, loss.wz, loss.wlam, loss.wmu);
    EXPECT_TRUE(near_relative(g1.P, g2.P, 1e-9));
    EXPECT_TRUE(near_relative(g1.q, g2.q, 1e-9));
    EXPECT_TRUE(near_relative(g1.C, g2.C, 1e-9));
    EXPECT_TRUE(near_relative(g1.d, g2.d, 1e-9));
    EXPECT_TRUE(near_relative(g1.A, g2.A, 1e-9));
    EXPECT_TRUE(near_relative(g1.b, g2.b, 1e-9));
  }
}

// Two copies of an active row make K singular with fewer active rows than
// variables: QDLDL refuses it, the core falls back to least squares and
// flags the solution, and the gradients are finite and equal to those the
// pivoted LU's fallback gives.
TEST(Qdldl, SingularKFallsBackAndIsFlagged) {
  std::mt19937 rng(86);
  GeneratedQP g = random_qp(rng, {6, 1, 2, 4, 1.0});
  DenseQP& qp = g.qp;
  const Index active = g.optimum.active[0];
  RowMatrix C(qp.m() + 1, qp.n());
  C << qp.C, qp.C.row(active);
  Vector d(qp.m() + 1);
  d << qp.d, qp.d[active];
  qp.C = C;
  qp.d = d;
  const SparseQP sparse = to_sparse(qp);
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  Settings qdldl_settings, lu_settings;
  qdldl_settings.lin_solver = "qdldl";
  lu_settings.lin_solver = "sparse_lu";
  const Layer qdldl(qdldl_settings), lu(lu_settings);
  const Solution s = qdldl.forward(sparse.view()), expected = lu.forward(sparse.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(s.degeneracy & kSingularKKT) << describe_degeneracy(s.degeneracy);
  EXPECT_EQ(s.active, expected.active);
  EXPECT_TRUE(near_relative(s.z, g.optimum.z, 1e-8, 1.0));
  const SparseGradients g1 = qdldl.backward(sparse.view(), s, loss.wz, loss.wlam, loss.wmu);
  const SparseGradients g2 = lu.backward(sparse.view(), expected, loss.wz, loss.wlam, loss.wmu);
  EXPECT_TRUE(g1.q.allFinite() && g1.d.allFinite() && g1.C.allFinite() && g1.P.allFinite());
  EXPECT_TRUE(near_relative(g1.q, g2.q, 1e-9));
  EXPECT_TRUE(near_relative(g1.d, g2.d, 1e-9));
  EXPECT_TRUE(near_relative(g1.b, g2.b, 1e-9));
}

}  // namespace
}  // namespace dqp::test
