// Checks that a native forward solver must pass, shared by the per-solver test
// files (test_daqp.cpp, test_highs.cpp), which call them with the solver's
// registry name and the storages it takes.
#pragma once

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "dqp/batch.hpp"
#include "test_helpers.hpp"

namespace dqp::test {

inline const auto as_dense = [](const DenseQP& qp) { return qp; };
inline const auto as_sparse = [](const DenseQP& qp) { return to_sparse(qp); };

inline Settings solver_settings(const std::string& solver, double eps_abs = 1e-9) {
  Settings settings;
  settings.qp_solver = solver;
  settings.eps_abs = eps_abs;
  return settings;
}

// The solver's own answer: no active-set identification, no polish.
template <class QP>
PrimalDual raw_solve(const std::string& solver, const QP& qp, const Settings& settings,
                     const PrimalDual* warm = nullptr) {
  return make_qp_solver(solver)->solve(qp.view(), settings, warm);
}

inline Solution as_solution(const PrimalDual& point) {
  Solution s;
  s.status = point.status;
  s.z = point.z;
  s.lam = point.lam;
  s.mu = point.mu;
  return s;
}

// On random problems of the given kinds, the solver's raw (z, lam, mu)
// satisfy dqp's KKT conditions, P z + q + Aᵀlam + Cᵀmu = 0 with mu ≥ 0 (so
// its duals are mapped to dqp's signs), and equal ProxQP's; through a Layer
// the outputs are the known optimum, polished, with its active set.
template <class ToQP>
void expect_matches_proxqp(const std::string& solver, Constraints kinds, ToQP to_qp, unsigned seed,
                           double tolerance) {
  std::mt19937 rng(seed);
  const Layer layer(solver_settings(solver, 1e-6));
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, kinds, 0.6));
    const auto qp = to_qp(g.qp);
    const PrimalDual raw = raw_solve(solver, qp, solver_settings(solver));
    const PrimalDual prox = raw_solve("proxqp", qp, solver_settings("proxqp"));
    ASSERT_EQ(raw.status, Status::Optimal);
    ASSERT_EQ(prox.status, Status::Optimal);
    ASSERT_TRUE(raw.has_duals);
    EXPECT_LE(kkt_violation(qp.view(), as_solution(raw)), tolerance);
    EXPECT_TRUE(near_relative(raw.z, prox.z, tolerance, 1.0));
    EXPECT_TRUE(near_relative(raw.lam, prox.lam, tolerance, 1.0));
    EXPECT_TRUE(near_relative(raw.mu, prox.mu, tolerance, 1.0));

    const Solution s = layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.polished);
    EXPECT_FALSE(s.duals_recovered);
    EXPECT_EQ(s.active, g.optimum.active);
    EXPECT_TRUE(near_relative(s.z, g.optimum.z, 1e-9, 1.0));
    EXPECT_TRUE(near_relative(s.lam, g.optimum.lam, 1e-9, 1.0));
    EXPECT_TRUE(near_relative(s.mu, g.optimum.mu, 1e-9, 1.0));
  }
}

// No constraints at all: z = -P⁻¹q.
template <class ToQP>
void expect_unconstrained(const std::string& solver, ToQP to_qp, double tolerance) {
  std::mt19937 rng(41);
  const GeneratedQP g = random_qp(rng, {7, 0, 0, 0, 1.0});
  const auto qp = to_qp(g.qp);
  const PrimalDual raw = raw_solve(solver, qp, solver_settings(solver));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, g.optimum.z, tolerance, 1.0));
  EXPECT_EQ(raw.lam.size(), 0);
  EXPECT_EQ(raw.mu.size(), 0);
}

// problem.hpp allows a constraint matrix without rows to come as (0, 0).
template <class ToQP>
void expect_zero_by_zero_rows(const std::string& solver, ToQP to_qp, double tolerance) {
  std::mt19937 rng(42);
  GeneratedQP equalities = random_qp(rng, {6, 2, 0, 0, 1.0});
  GeneratedQP inequalities = random_qp(rng, {6, 0, 3, 5, 1.0});
  auto eq = to_qp(equalities.qp);
  auto ineq = to_qp(inequalities.qp);
  eq.C = decltype(eq.C)(0, 0);
  ineq.A = decltype(ineq.A)(0, 0);
  for (const auto& [qp, optimum] : {std::pair{eq, equalities.optimum},
                                    std::pair{ineq, inequalities.optimum}}) {
    const PrimalDual raw = raw_solve(solver, qp, solver_settings(solver));
    ASSERT_EQ(raw.status, Status::Optimal);
    EXPECT_TRUE(near_relative(raw.z, optimum.z, tolerance, 1.0));
    EXPECT_TRUE(near_relative(raw.lam, optimum.lam, tolerance, 1.0));
    EXPECT_TRUE(near_relative(raw.mu, optimum.mu, tolerance, 1.0));
  }
}

// z1 ≤ -1 and z1 ≥ 1.
inline DenseQP infeasible_qp() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Vector::Zero(2);
  qp.C = RowMatrix(2, 2);
  qp.C << 1, 0, -1, 0;
  qp.d = Vector::Constant(2, -1.0);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

// minimize ½ z1² - z2 subject to z2 ≥ 0: P is singular and z2 runs off.
inline DenseQP unbounded_qp() {
  DenseQP qp;
  qp.P = RowMatrix::Zero(2, 2);
  qp.P(0, 0) = 1.0;
  qp.q = Vector(2);
  qp.q << 0, -1;
  qp.C = RowMatrix(1, 2);
  qp.C << 0, -1;
  qp.d = Vector::Zero(1);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

// minimize ½ z1² - z2 subject to z2 ≤ 1 and z1 + z2 = 3: a singular P whose
// problem has the solution z = (2, 1), lam = -2, mu = 3.
inline DenseQP semidefinite_qp() {
  DenseQP qp = unbounded_qp();
  qp.C << 0, 1;
  qp.d << 1;
  qp.A = RowMatrix(1, 2);
  qp.A << 1, 1;
  qp.b = Vector::Constant(1, 3.0);
  return qp;
}

template <class ToQP>
void expect_semidefinite_solved(const std::string& solver, ToQP to_qp) {
  const auto qp = to_qp(semidefinite_qp());
  const PrimalDual raw = raw_solve(solver, qp, solver_settings(solver));
  ASSERT_EQ(raw.status, Status::Optimal);
  EXPECT_TRUE(near_relative(raw.z, Eigen::Vector2d(2, 1), 1e-6));
  EXPECT_TRUE(near_relative(raw.lam, Vector::Constant(1, -2.0), 1e-6));
  EXPECT_TRUE(near_relative(raw.mu, Vector::Constant(1, 3.0), 1e-6));
}

// A problem whose solution has most of its rows active, so that an active-set
// solver needs many iterations to reach it: the unconstrained minimum is
// z = 1, beyond C z ≤ 0 with C close to the identity.
inline DenseQP many_active_qp(Index n = 60) {
  std::mt19937 rng(43);
  std::normal_distribution<double> normal;
  const auto gaussian = [&](Index rows, Index cols) {
    return RowMatrix(RowMatrix::NullaryExpr(rows, cols, [&] { return normal(rng); }));
  };
  DenseQP qp;
  const RowMatrix B = gaussian(n, n);
  RowMatrix P = B.transpose() * B / static_cast<double>(n);
  P.diagonal().array() += 1.0;
  qp.P = 0.5 * (P + P.transpose());
  qp.q = -qp.P * Vector::Ones(n);
  qp.C = RowMatrix::Identity(n, n) + gaussian(n, n) * (0.1 / std::sqrt(static_cast<double>(n)));
  qp.d = Vector::Zero(n);
  qp.A = RowMatrix(0, n);
  qp.b = Vector(0);
  return qp;
}

// forward_batch runs the solver on several threads at once: every answer
// must be the one a lone call gives, bit for bit (no shared mutable state).
template <class ToQP>
void expect_concurrent_solves_agree(const std::string& solver, ToQP to_qp) {
  std::mt19937 rng(44);
  using QP = decltype(to_qp(std::declval<DenseQP>()));
  std::vector<QP> qps;
  for (int i = 0; i < 24; ++i)
    qps.push_back(to_qp(random_qp(rng, random_shape(rng, Constraints::Both, 0.6)).qp));
  const Settings settings = solver_settings(solver, 1e-6);
  std::vector<PrimalDual> alone;
  for (const QP& qp : qps) alone.push_back(raw_solve(solver, qp, settings));

  std::vector<std::vector<PrimalDual>> answers(4, std::vector<PrimalDual>(qps.size()));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < answers.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < qps.size(); ++i)
          answers[t][(i + t) % qps.size()] =
              raw_solve(solver, qps[(i + t) % qps.size()], settings);
    });
  for (std::thread& thread : threads) thread.join();
  for (const auto& thread_answers : answers)
    for (std::size_t i = 0; i < qps.size(); ++i) {
      SCOPED_TRACE("problem " + std::to_string(i));
      ASSERT_EQ(thread_answers[i].status, alone[i].status);
      EXPECT_EQ(thread_answers[i].z, alone[i].z);
      EXPECT_EQ(thread_answers[i].lam, alone[i].lam);
      EXPECT_EQ(thread_answers[i].mu, alone[i].mu);
    }

  const Layer layer(settings);
  std::vector<decltype(qps[0].view())> views;
  for (const QP& qp : qps) views.push_back(qp.view());
  BatchOptions options;
  options.threads = 4;
  const std::vector<Solution> batch = forward_batch(layer, views, options);
  for (std::size_t i = 0; i < qps.size(); ++i) {
    const Solution s = layer.forward(views[i]);
    ASSERT_EQ(batch[i].status, s.status);
    EXPECT_EQ(batch[i].z, s.z);
    EXPECT_EQ(batch[i].mu, s.mu);
  }
}

}  // namespace dqp::test
