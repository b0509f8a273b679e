// Checks that a linear solver for the reduced KKT system must pass, shared by
// the per-solver test files (test_ldlt.cpp, test_schur_llt.cpp,
// test_pardiso.cpp), which call them with the solver's registry name.
#pragma once

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_helpers.hpp"

namespace dqp::test {

inline Eigen::MatrixXd gaussian_matrix(std::mt19937& rng, Index rows, Index cols,
                                       double density = 1.0) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  return Eigen::MatrixXd::NullaryExpr(rows, cols,
                                      [&] { return uniform(rng) < density ? normal(rng) : 0.0; });
}

// K = [[P, Aᵀ], [A, 0]].
inline KKTDense kkt_matrix(const Eigen::MatrixXd& P, const Eigen::MatrixXd& A) {
  const Index n = P.rows(), k = A.rows();
  KKTDense K = KKTDense::Zero(n + k, n + k);
  K.topLeftCorner(n, n) = P;
  K.bottomLeftCorner(k, n) = A;
  K.topRightCorner(n, k) = A.transpose();
  return K;
}

// Factors through the interface the core uses (with the P block's size) or
// the plain one, which must recover it.
inline std::unique_ptr<KKTFactorization> factor_kkt(const std::string& solver, const KKTDense& K,
                                                    Index n, bool sparse, bool tell_n = true) {
  const auto linear = make_linear_solver(solver);
  if (sparse) {
    const KKTSparse S = K.sparseView();
    return tell_n ? linear->factorize_kkt(S, n) : linear->factorize(S);
  }
  return tell_n ? linear->factorize_kkt(K, n) : linear->factorize(K);
}

inline double kkt_relative_residual(const KKTDense& K, const Vector& x, const Vector& b) {
  const Vector Kx = K * x;
  return (Kx - b).cwiseAbs().maxCoeff() /
         (1.0 + b.cwiseAbs().maxCoeff() + Kx.cwiseAbs().maxCoeff());
}

// Random nonsingular K whose P is positive definite (positive_definite) or
// positive semidefinite and often singular: solves match a full-pivoting LU.
inline void expect_solves_regular_kkt(const std::string& solver, bool sparse,
                                      bool positive_definite, unsigned seed) {
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 30; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const Index n = 4 + trial, k = trial % 4 == 3 ? 0 : 1 + trial / 2;
    const Index rank = positive_definite || trial % 3 != 0 ? n : n - k;
    const Eigen::MatrixXd B = gaussian_matrix(rng, rank, n);
    Eigen::MatrixXd P = B.transpose() * B;
    if (positive_definite) P += 0.1 * Eigen::MatrixXd::Identity(n, n);
    Eigen::MatrixXd A = gaussian_matrix(rng, k, n, sparse ? 0.4 : 1.0);
    A.leftCols(k).diagonal().array() += 3.0;  // full row rank
    const KKTDense K = kkt_matrix(P, A);
    const Eigen::FullPivLU<KKTDense> reference(K);
    ASSERT_TRUE(reference.isInvertible());
    for (const bool tell_n : {true, false}) {
      const auto factorization = factor_kkt(solver, K, n, sparse, tell_n);
      ASSERT_NE(factorization, nullptr) << (tell_n ? "told n" : "n recovered from K");
      const Vector b = gaussian_matrix(rng, n + k, 1);
      Vector x = b;
      factorization->solve(x);
      const Vector expected = reference.solve(b);
      EXPECT_LE(kkt_relative_residual(K, x, b),
                std::max(10 * kkt_relative_residual(K, expected, b), 1e-13));
      EXPECT_TRUE(near_relative(x, expected, 1e-8, 1.0));
    }
  }
}

// Singular K is refused (null), so the core falls back.
inline void expect_refuses_singular_kkt(const std::string& solver, bool sparse, unsigned seed) {
  std::mt19937 rng(seed);
  const Eigen::MatrixXd B = gaussian_matrix(rng, 6, 6);
  const Eigen::MatrixXd P = B.transpose() * B;
  Eigen::MatrixXd A = gaussian_matrix(rng, 3, 6);
  A.row(2) = A.row(1);  // dependent constraint rows
  EXPECT_EQ(factor_kkt(solver, kkt_matrix(P, A), 6, sparse), nullptr) << "dependent rows";
  A.row(2) = A.row(1) * (1 + 1e-15);
  EXPECT_EQ(factor_kkt(solver, kkt_matrix(P, A), 6, sparse), nullptr) << "nearly dependent rows";
  Eigen::MatrixXd Pl = Eigen::MatrixXd::Zero(4, 4);
  Pl(0, 0) = 1.0;  // P singular on the null space of A
  EXPECT_EQ(factor_kkt(solver, kkt_matrix(Pl, gaussian_matrix(rng, 1, 4)), 4, sparse), nullptr)
      << "P singular on null(A)";
  EXPECT_EQ(factor_kkt(solver, kkt_matrix(Eigen::MatrixXd::Zero(3, 3), gaussian_matrix(rng, 4, 3)),
                       3, sparse),
            nullptr)
      << "more rows than variables";
}

// The batch engine solves with one factorization from several threads.
inline void expect_concurrent_solves(const std::string& solver, bool sparse, unsigned seed) {
  std::mt19937 rng(seed);
  const Eigen::MatrixXd B = gaussian_matrix(rng, 30, 30, 0.3);
  const KKTDense K = kkt_matrix(B.transpose() * B + Eigen::MatrixXd::Identity(30, 30),
                                gaussian_matrix(rng, 10, 30, 0.5));
  const auto factorization = factor_kkt(solver, K, 30, sparse);
  ASSERT_NE(factorization, nullptr);
  std::vector<Vector> rhs, alone;
  for (int i = 0; i < 16; ++i) {
    rhs.push_back(gaussian_matrix(rng, 40, 1));
    alone.push_back(rhs.back());
    factorization->solve(alone.back());
  }
  std::vector<std::vector<Vector>> answers(4, rhs);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < answers.size(); ++t)
    threads.emplace_back([&, t] {
      for (Vector& x : answers[t]) factorization->solve(x);
    });
  for (std::thread& thread : threads) thread.join();
  for (const auto& answer : answers)
    for (std::size_t i = 0; i < rhs.size(); ++i) EXPECT_EQ(answer[i], alone[i]);
}

// Through a Layer: the solver factors K itself (no fallback), and outputs and
// gradients match central finite differences on random problems of the kind.
inline void expect_gradients_match_finite_differences(const std::string& solver, Constraints kinds,
                                                      bool sparse, unsigned seed) {
  std::mt19937 rng(seed);
  Settings settings;
  settings.lin_solver = solver;
  const Layer layer(settings);
  for (int trial = 0; trial < 8; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, kinds, sparse ? 0.35 : 1.0));
    const LinearLoss loss = random_loss(rng, g.qp.n(), g.qp.p(), g.qp.m());
    const auto check = [&](const DenseQP& qp) {
      const Solution s = layer.forward(qp.view());
      ASSERT_EQ(s.status, Status::Optimal);
      ASSERT_EQ(s.active, g.optimum.active);
      ASSERT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
      EXPECT_EQ(s.linear_solver(), solver);
      const auto analytic = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
      const auto fd = fd_gradients(layer, qp, loss, 1e-6);
      EXPECT_TRUE(near_relative(analytic.q, fd.q, 1e-6)) << "q";
      EXPECT_TRUE(near_relative(analytic.d, fd.d, 1e-6)) << "d";
      EXPECT_TRUE(near_relative(analytic.b, fd.b, 1e-6)) << "b";
      const Vector gP = paired(analytic.P).reshaped<Eigen::RowMajor>();
      const Vector fP = fd.P.reshaped<Eigen::RowMajor>();
      EXPECT_TRUE(near_relative(gP, fP, 1e-6)) << "P";
      const Vector gC = analytic.C.template reshaped<Eigen::RowMajor>();
      const Vector fC = fd.C.template reshaped<Eigen::RowMajor>();
      EXPECT_TRUE(near_relative(gC, fC, 1e-6)) << "C";
      const Vector gA = analytic.A.template reshaped<Eigen::RowMajor>();
      const Vector fA = fd.A.template reshaped<Eigen::RowMajor>();
      EXPECT_TRUE(near_relative(gA, fA, 1e-6)) << "A";
    };
    if (sparse) {
      const SparseQP qp = to_sparse(g.qp);
      const Solution s = layer.forward(qp.view());
      ASSERT_EQ(s.status, Status::Optimal);
      ASSERT_EQ(s.active, g.optimum.active);
      ASSERT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
      EXPECT_EQ(s.linear_solver(), solver);
      const SparseGradients analytic = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
      const SparseGradients fd = fd_gradients(layer, qp, loss, 1e-6);
      EXPECT_TRUE(near_relative(paired(qp.P, analytic.P), fd.P, 1e-6)) << "P";
      EXPECT_TRUE(near_relative(analytic.q, fd.q, 1e-6)) << "q";
      EXPECT_TRUE(near_relative(analytic.C, fd.C, 1e-6)) << "C";
      EXPECT_TRUE(near_relative(analytic.d, fd.d, 1e-6)) << "d";
      EXPECT_TRUE(near_relative(analytic.A, fd.A, 1e-6)) << "A";
      EXPECT_TRUE(near_relative(analytic.b, fd.b, 1e-6)) << "b";
    } else {
      check(g.qp);
    }
  }
}

// Two copies of an active row: K is singular. The solver refuses it, the core
// falls back to least squares and flags the solution, with finite gradients
// equal to those the pivoted LU's fallback gives.
inline void expect_singular_kkt_falls_back(const std::string& solver, bool sparse, unsigned seed) {
  std::mt19937 rng(seed);
  GeneratedQP g = random_qp(rng, {6, 1, 2, 4, 1.0});
  DenseQP& qp = g.qp;
  const Index active = g.optimum.active[0];
  RowMatrix C(qp.m() + 1, qp.n());
  C << qp.C, qp.C.row(active);
  Vector d(qp.m() + 1);
  d << qp.d, qp.d[active];
  qp.C = C;
  qp.d = d;
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  Settings settings, lu_settings;
  settings.lin_solver = solver;
  lu_settings.lin_solver = sparse ? "sparse_lu" : "lu";
  const Layer layer(settings), lu(lu_settings);
  const auto check = [&](const auto& problem) {
    const Solution s = layer.forward(problem.view()), expected = lu.forward(problem.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.degeneracy & kSingularKKT) << describe_degeneracy(s.degeneracy);
    EXPECT_NE(s.linear_solver(), solver);
    EXPECT_TRUE(near_relative(s.z, expected.z, 1e-8, 1.0));
    const auto g1 = layer.backward(problem.view(), s, loss.wz, loss.wlam, loss.wmu);
    const auto g2 = lu.backward(problem.view(), expected, loss.wz, loss.wlam, loss.wmu);
    EXPECT_TRUE(g1.q.allFinite() && g1.d.allFinite());
    EXPECT_TRUE(near_relative(g1.q, g2.q, 1e-8));
    EXPECT_TRUE(near_relative(g1.d, g2.d, 1e-8));
  };
  if (sparse)
    check(to_sparse(qp));
  else
    check(qp);
}

}  // namespace dqp::test
