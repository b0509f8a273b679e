// Eliminating active bounds from the reduced KKT system: exact solves of the
// whole K, refusal where the elimination would hide a singular K, and
// gradients of bound-heavy problems against finite differences.
#include <gtest/gtest.h>

#include "kkt/singleton_elimination.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// K = [[P, Ãᵀ], [Ã, 0]] with Ã = [e_j rows for `bounds`; `general` dense rows].
KKTDense kkt_with_bounds(std::mt19937& rng, Index n, const std::vector<Index>& bounds, Index general) {
  std::normal_distribution<double> normal;
  const Eigen::MatrixXd B = Eigen::MatrixXd::NullaryExpr(n, n, [&] { return normal(rng); });
  const Index k = static_cast<Index>(bounds.size()) + general;
  Eigen::MatrixXd At = Eigen::MatrixXd::Zero(k, n);
  for (Index r = 0; r < static_cast<Index>(bounds.size()); ++r) At(r, bounds[r]) = r % 2 ? -1.5 : 1.0;
  for (Index r = static_cast<Index>(bounds.size()); r < k; ++r)
    At.row(r) = Eigen::RowVectorXd::NullaryExpr(n, [&] { return normal(rng); });
  KKTDense K = KKTDense::Zero(n + k, n + k);
  K.topLeftCorner(n, n) = B.transpose() * B + 0.1 * Eigen::MatrixXd::Identity(n, n);
  K.bottomLeftCorner(k, n) = At;
  K.topRightCorner(n, k) = At.transpose();
  return K;
}

void expect_solves(const KKTFactorization& factorization, const KKTDense& K) {
  const Vector b = Vector::LinSpaced(K.rows(), -2.0, 3.0);
  Vector x = b;
  factorization.solve(x);
  EXPECT_LT((K * x - b).cwiseAbs().maxCoeff(), 1e-10 * (1.0 + x.cwiseAbs().maxCoeff()));
}

TEST(SingletonElimination, SolvesTheWholeSystemDenseAndSparse) {
  std::mt19937 rng(301);
  const std::vector<std::string> dense_chain = {"lu", "cod"}, sparse_chain = {"sparse_lu", "sparse_qr"};
  for (Index general : {0, 1, 3}) {
    SCOPED_TRACE("general rows " + std::to_string(general));
    const KKTDense K = kkt_with_bounds(rng, 8, {0, 3, 4, 7}, general);
    auto dense = kkt::factor_with_bounds_eliminated(K, 8, dense_chain);
    ASSERT_NE(dense.factorization, nullptr);
    EXPECT_EQ(dense.solver, "lu");
    expect_solves(*dense.factorization, K);
    const KKTSparse sparse_K = K.sparseView();
    auto sparse = kkt::factor_with_bounds_eliminated(sparse_K, 8, sparse_chain);
    ASSERT_NE(sparse.factorization, nullptr);
    expect_solves(*sparse.factorization, K);
  }
}

TEST(SingletonElimination, EveryVariableFixed) {
  std::mt19937 rng(302);
  const KKTDense K = kkt_with_bounds(rng, 4, {2, 0, 1, 3}, 0);
  auto eliminated = kkt::factor_with_bounds_eliminated(K, 4, {"lu"});
  ASSERT_NE(eliminated.factorization, nullptr);
  expect_solves(*eliminated.factorization, K);
}

// Nothing to eliminate, or an elimination that would leave a row without a
// free variable (two bounds on one variable; a general row over fixed ones):
// the caller factors the whole K and its fallbacks judge the singularity.
TEST(SingletonElimination, RefusesWhereItCannotHelpOrWouldHideSingularity) {
  std::mt19937 rng(303);
  EXPECT_EQ(kkt::factor_with_bounds_eliminated(kkt_with_bounds(rng, 5, {}, 2), 5, {"lu"}).factorization,
            nullptr);
  EXPECT_EQ(kkt::factor_with_bounds_eliminated(kkt_with_bounds(rng, 5, {1, 1}, 1), 5, {"lu"}).factorization,
            nullptr);
  KKTDense K = kkt_with_bounds(rng, 5, {0, 1}, 1);
  K.block(7, 2, 1, 3).setZero();  // the general row only on the fixed z0, z1
  K.block(2, 7, 3, 1).setZero();
  EXPECT_EQ(kkt::factor_with_bounds_eliminated(K, 5, {"lu"}).factorization, nullptr);
  // Only least-squares solvers offered: no regular factorization of K_SS.
  EXPECT_EQ(kkt::factor_with_bounds_eliminated(kkt_with_bounds(rng, 5, {0}, 1), 5, {"cod"}).factorization,
            nullptr);
}

// min ½zᵀPz + qᵀz s.t. -1 ≤ z ≤ 1 (as rows of C), G z ≤ h, A z = b, with a
// large q so that most bounds are active: the reduced KKT system is factored
// with the bounds eliminated, and every gradient matches finite differences.
DenseQP box_qp(std::mt19937& rng, Index n, Index general, Index p) {
  std::normal_distribution<double> normal;
  auto gaussian = [&](Index rows, Index cols) {
    return RowMatrix(RowMatrix::NullaryExpr(rows, cols, [&] { return normal(rng); }));
  };
  DenseQP qp;
  const RowMatrix B = gaussian(n, n);
  qp.P = B.transpose() * B / n + RowMatrix::Identity(n, n);
  qp.q = 4.0 * Vector(gaussian(n, 1).col(0));
  qp.C.resize(2 * n + general, n);
  qp.C << RowMatrix::Identity(n, n), -RowMatrix::Identity(n, n), gaussian(general, n);
  qp.d = Vector::Ones(2 * n + general);
  qp.d.tail(general) = Vector::Constant(general, 2.0);
  qp.A = gaussian(p, n);
  qp.b = 0.1 * Vector(gaussian(p, 1).col(0));
  return qp;
}

// Smallest slack of an inactive row and smallest dual of an active one: the
// finite-difference step must not cross an active-set change.
double margin(const DenseQP& qp, const Solution& s) {
  const Vector slack = qp.d - qp.C * s.z;
  double worst = 1e300;
  std::vector<bool> active(qp.m(), false);
  for (Index i : s.active) active[i] = true;
  for (Index i = 0; i < qp.m(); ++i) worst = std::min(worst, active[i] ? s.mu[i] : slack[i]);
  return worst;
}

template <class QP>
void check_gradients(const Layer& layer, const QP& qp, std::mt19937& rng) {
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  const auto g = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  const auto fd = fd_gradients(layer, qp, loss, 1e-6);
  EXPECT_LT(relative_error(g.q, fd.q), 1e-6);
  EXPECT_LT(relative_error(g.d, fd.d), 1e-6);
  EXPECT_LT(relative_error(g.b, fd.b), 1e-6);
}

TEST(SingletonElimination, BoundHeavyGradientsMatchFiniteDifferences) {
  std::mt19937 rng(304);
  int checked = 0, with_bounds = 0;
  for (int trial = 0; trial < 30 && checked < 12; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const DenseQP qp = box_qp(rng, 12, trial % 3, trial % 2);
    const Layer layer;
    const Solution s = layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    if (s.degenerate() || margin(qp, s) < 1e-3) continue;  // FD would cross a kink
    with_bounds += s.active.size() >= 4;
    check_gradients(layer, qp, rng);
    check_gradients(layer, to_sparse(qp), rng);
    ++checked;
  }
  EXPECT_EQ(checked, 12);
  EXPECT_GE(with_bounds, 6);
}

}  // namespace
}  // namespace dqp::test
