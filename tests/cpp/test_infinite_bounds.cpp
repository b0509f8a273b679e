// d_i = +inf: row i never binds, is dropped from the solve, and has a zero
// dual and zero gradients. d_i = -inf: the problem is infeasible. NaN in d
// stays an error.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

constexpr double kBoundsExact = 1e-8;

// A generated problem with two extra rows whose bound is +inf, and the
// generated problem itself (the answer they must not change).
struct WithInfiniteRows {
  DenseQP infinite, finite;
  std::vector<Index> infinite_rows;   // rows of `infinite` with d = +inf
  std::vector<Index> finite_rows;     // the others, in order
};

WithInfiniteRows make_problem(unsigned seed) {
  std::mt19937 rng(seed);
  WithInfiniteRows out;
  out.finite = random_qp(rng, QPShape{5, 1, 2, 4}).qp;   // n, p, active, m
  const Index m = out.finite.m(), n = out.finite.n();
  out.infinite = out.finite;
  out.infinite.C.resize(m + 2, n);
  out.infinite.d.resize(m + 2);
  // Rows 1 and 4 of the new problem are the infinite ones; they would cut
  // off the solution were they finite.
  std::normal_distribution<double> normal;
  for (Index i = 0, source = 0; i < m + 2; ++i) {
    if (i == 1 || i == 4) {
      for (Index j = 0; j < n; ++j) out.infinite.C(i, j) = normal(rng);
      out.infinite.d[i] = INFINITY;
      out.infinite_rows.push_back(i);
    } else {
      out.infinite.C.row(i) = out.finite.C.row(source);
      out.infinite.d[i] = out.finite.d[source++];
      out.finite_rows.push_back(i);
    }
  }
  return out;
}

template <class QP>
void check(const QP& infinite, const QP& finite, const WithInfiniteRows& rows, const Settings& settings) {
  const Layer layer(settings);
  const Solution with = layer.forward(infinite.view());
  const Solution without = layer.forward(finite.view());
  ASSERT_EQ(with.status, Status::Optimal) << settings.qp_solver;
  ASSERT_EQ(without.status, Status::Optimal) << settings.qp_solver;
  EXPECT_TRUE(near_relative(with.z, without.z, kBoundsExact)) << settings.qp_solver;
  EXPECT_TRUE(near_relative(with.lam, without.lam, kBoundsExact)) << settings.qp_solver;
  for (Index i : rows.infinite_rows) EXPECT_EQ(with.mu[i], 0.0);
  for (std::size_t k = 0; k < rows.finite_rows.size(); ++k)
    EXPECT_NEAR(with.mu[rows.finite_rows[k]], without.mu[k], kBoundsExact) << settings.qp_solver;
  EXPECT_TRUE(std::isfinite(with.kkt_residual));
  EXPECT_LT(with.kkt_residual, 1e-6);

  // Gradients: those of the finite problem, and zero on the infinite rows.
  const Index n = infinite.n(), p = infinite.p();
  const Vector dz = Vector::LinSpaced(n, 1.0, 2.0);
  const Vector dlam = Vector::Ones(p);
  Vector dmu = Vector::Ones(infinite.m());
  const auto g = layer.backward(infinite.view(), with, dz, dlam, dmu);
  const auto h = layer.backward(finite.view(), without, dz, dlam, Vector::Ones(finite.m()));
  EXPECT_TRUE(near_relative(g.q, h.q, kBoundsExact));
  EXPECT_TRUE(near_relative(g.b, h.b, kBoundsExact));
  for (Index i : rows.infinite_rows) EXPECT_EQ(g.d[i], 0.0);
  for (std::size_t k = 0; k < rows.finite_rows.size(); ++k)
    EXPECT_NEAR(g.d[rows.finite_rows[k]], h.d[k], kBoundsExact);
  EXPECT_TRUE(g.C.allFinite() && g.P.allFinite() && g.A.allFinite());
}

TEST(InfiniteBounds, PlusInfinityRowsAreDroppedDense) {
  const WithInfiniteRows rows = make_problem(1);
  for (const SolverInfo& info : qp_solvers()) {
    if (!info.dense) continue;
    Settings settings;
    settings.qp_solver = info.name;
    check(rows.infinite, rows.finite, rows, settings);
  }
  Settings normalized;
  normalized.normalize_constraints = true;
  check(rows.infinite, rows.finite, rows, normalized);
}

TEST(InfiniteBounds, PlusInfinityRowsAreDroppedSparse) {
  const WithInfiniteRows rows = make_problem(2);
  const SparseQP infinite = to_sparse(rows.infinite), finite = to_sparse(rows.finite);
  for (const SolverInfo& info : qp_solvers()) {
    if (!info.sparse) continue;
    Settings settings;
    settings.qp_solver = info.name;
    check(infinite, finite, rows, settings);
  }
  Settings normalized;
  normalized.normalize_constraints = true;
  check(infinite, finite, rows, normalized);
}

TEST(InfiniteBounds, EveryRowInfiniteIsTheUnconstrainedProblem) {
  DenseQP qp = seed_problem();
  qp.d.setConstant(INFINITY);
  const Solution s = Layer().forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Vector::Zero(2), kBoundsExact, 1.0));
  EXPECT_TRUE(s.active.empty());
  EXPECT_EQ(s.mu, Vector::Zero(3));
}

TEST(InfiniteBounds, MinusInfinityIsInfeasible) {
  DenseQP qp = seed_problem();
  qp.d[2] = -INFINITY;
  const SparseQP sparse = to_sparse(qp);
  for (const Solution& s : {Layer().forward(qp.view()), Layer().forward(sparse.view())}) {
    EXPECT_EQ(s.status, Status::PrimalInfeasible);
    EXPECT_FALSE(s.differentiable());
  }
}

TEST(InfiniteBounds, NaNInDIsStillAnError) {
  DenseQP qp = seed_problem();
  qp.d[1] = NAN;
  const std::string message = invalid_argument_message([&] { Layer().forward(qp.view()); });
  EXPECT_NE(message.find("d contains NaN"), std::string::npos) << message;
}

TEST(InfiniteBounds, InfinityElsewhereIsStillAnError) {
  DenseQP qp = seed_problem();
  qp.q[0] = INFINITY;
  const std::string message = invalid_argument_message([&] { Layer().forward(qp.view()); });
  EXPECT_NE(message.find("q contains NaN or Inf"), std::string::npos) << message;
}

}  // namespace
}  // namespace dqp::test
