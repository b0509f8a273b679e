// solve_on_active_set (the JAX front's K⁻¹): the result solves the extended
// reduced KKT system built here by hand, dense and sparse agree, it equals
// what backward computes from a forward Solution, and bad arguments throw.
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// The extended matrix of the header: [[P, Aᵀ, C_Jᵀ], [A, 0, 0], [C_J, 0, 0]]
// on the active rows J of μ, identity on the others.
Eigen::MatrixXd extended_kkt(const DenseQP& qp, const std::vector<Index>& active) {
  const Index n = qp.q.size(), p = qp.b.size(), m = qp.d.size();
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n + p + m, n + p + m);
  K.topLeftCorner(n, n) = qp.P;
  K.block(0, n, n, p) = qp.A.transpose();
  K.block(n, 0, p, n) = qp.A;
  std::vector<bool> is_active(m, false);
  for (Index i : active) is_active[i] = true;
  for (Index i = 0; i < m; ++i) {
    if (is_active[i]) {
      K.block(0, n + p + i, n, 1) = qp.C.row(i).transpose();
      K.block(n + p + i, 0, 1, n) = qp.C.row(i);
    } else {
      K(n + p + i, n + p + i) = 1.0;
    }
  }
  return K;
}

GeneratedQP generated(unsigned seed) {
  std::mt19937 rng(seed);
  return random_qp(rng, QPShape{6, 1, 2, 4});   // n, p, active, m
}

TEST(ActiveSetSolve, SolvesTheExtendedSystemDenseAndSparse) {
  const GeneratedQP g = generated(3);
  const Index size = g.qp.q.size() + g.qp.b.size() + g.qp.d.size();
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd rhs(size, 3);
  for (Index i = 0; i < rhs.size(); ++i) rhs.data()[i] = normal(rng);

  Eigen::MatrixXd dense = rhs;
  solve_on_active_set(g.qp.view(), g.optimum.active, Settings{}, dense);
  const Eigen::MatrixXd K = extended_kkt(g.qp, g.optimum.active);
  EXPECT_LT((K * dense - rhs).cwiseAbs().maxCoeff(), 1e-10 * (1.0 + rhs.cwiseAbs().maxCoeff()));

  const SparseQP sparse_qp = to_sparse(g.qp);
  Eigen::MatrixXd sparse = rhs;
  solve_on_active_set(sparse_qp.view(), g.optimum.active, Settings{}, sparse);
  EXPECT_TRUE(near_relative(sparse, dense, 1e-10));

  // Rows of μ outside the active set pass through unchanged.
  std::vector<bool> is_active(g.qp.d.size(), false);
  for (Index i : g.optimum.active) is_active[i] = true;
  const Index offset = g.qp.q.size() + g.qp.b.size();
  for (Index i = 0; i < g.qp.d.size(); ++i)
    if (!is_active[i]) EXPECT_EQ(dense.row(offset + i), rhs.row(offset + i)) << "row " << i;
}

TEST(ActiveSetSolve, AgreesWithBackwardOnTheForwardActiveSet) {
  // backward's dq is −(K⁻¹ [g_z; g_λ; g_μ])_z on the solution's active set.
  const GeneratedQP g = generated(8);
  const Layer layer;
  const Solution solution = layer.forward(g.qp.view());
  ASSERT_EQ(solution.status, Status::Optimal);
  ASSERT_EQ(solution.active, g.optimum.active);
  const Index n = g.qp.q.size(), p = g.qp.b.size(), m = g.qp.d.size();
  std::mt19937 rng(9);
  std::normal_distribution<double> normal;
  Vector gz(n);
  for (Index i = 0; i < n; ++i) gz[i] = normal(rng);
  const DenseGradients grads =
      layer.backward(g.qp.view(), solution, gz, Vector::Zero(p), Vector::Zero(m));
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(n + p + m, 1);
  rhs.col(0).head(n) = gz;
  solve_on_active_set(g.qp.view(), solution.active, Settings{}, rhs);
  EXPECT_TRUE(near_relative(Vector(-rhs.col(0).head(n)), grads.q, 1e-9));
}

TEST(ActiveSetSolve, DependentActiveRowsGiveAFiniteLeastSquaresSolution) {
  // Two copies of the same active row: K is singular, the solve is least
  // squares and still solves a consistent right-hand side.
  DenseQP qp = seed_problem();
  qp.C.conservativeResize(4, 2);
  qp.C.row(3) = qp.C.row(0);
  qp.d.conservativeResize(4);
  qp.d[3] = qp.d[0];
  const std::vector<Index> active{0, 3};
  const Eigen::MatrixXd K = extended_kkt(qp, active);
  Vector x(6);
  x << 0.3, -0.7, 0.5, 0.0, 0.5, 1.5;   // equal duals on the twin rows: in K's row space
  Eigen::MatrixXd rhs = K * x;
  solve_on_active_set(qp.view(), active, Settings{}, rhs);
  ASSERT_TRUE(rhs.allFinite());
  EXPECT_LT((K * rhs - K * x).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(ActiveSetSolve, BadArgumentsThrow) {
  const DenseQP qp = seed_problem();
  Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(5, 1);   // n + p + m = 2 + 0 + 3
  EXPECT_THROW(solve_on_active_set(qp.view(), {3}, Settings{}, rhs), std::invalid_argument);
  EXPECT_THROW(solve_on_active_set(qp.view(), {-1}, Settings{}, rhs), std::invalid_argument);
  Eigen::MatrixXd wrong = Eigen::MatrixXd::Zero(4, 1);
  EXPECT_THROW(solve_on_active_set(qp.view(), {0}, Settings{}, wrong), std::invalid_argument);
  EXPECT_NO_THROW(solve_on_active_set(qp.view(), {0}, Settings{}, rhs));
}

}  // namespace
}  // namespace dqp::test
