// Shared test machinery: owning problem storage, random QPs with a known
// solution, finite differences and comparisons.
#pragma once

#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dqp/dqp.hpp"

namespace dqp::test {

// ---------------------------------------------------------------- storage --

// Problems that own their data (owned_problem.hpp): view() hands the core a
// no-copy view, so a test may edit an entry in place and view again.
using dqp::DenseQP;
using dqp::SparseQP;

SparseView view_of(const SparseMatrix& M);
// Keeps exactly the nonzero entries, compressed.
SparseMatrix to_sparse(const RowMatrix& M);
SparseQP to_sparse(const DenseQP& qp);

// The stored values of a matrix, in storage order (row-major, or CSC).
Eigen::Map<Vector> values(RowMatrix& M);
Eigen::Map<Vector> values(SparseMatrix& M);
Eigen::Map<const Vector> values(const SparseMatrix& M);

// The seed example: P = 2I, q = 0, C = [[-1,-1],[-1,0],[0,-1]], d = (-1,0,0),
// no equalities. Solution z = (1/2, 1/2), mu = (1, 0, 0).
DenseQP seed_problem();

// -------------------------------------------------------------- generator --

// The primal-dual point a generated problem was built around.
struct Optimum {
  Vector z, lam, mu;
  std::vector<Index> active;  // ascending
};

struct GeneratedQP {
  DenseQP qp;
  Optimum optimum;
};

struct QPShape {
  Index n = 2;
  Index p = 0;       // equality rows
  Index active = 0;  // active inequality rows, p + active <= n
  Index m = 0;       // inequality rows, m >= active
  double density = 1.0;  // fraction of nonzero entries in C, A and P's factor
};

enum class Constraints { Both, EqualitiesOnly, InequalitiesOnly };

// n in [2, 15]; p, |active| and m drawn so that the kinds asked for appear
// (Both: at least one equality and one inequality row).
QPShape random_shape(std::mt19937& rng, Constraints kinds, double density = 1.0);

// A well-conditioned strictly convex QP built around a chosen (z*, lam*, mu*):
// P = BᵀB/n + I/2, rows of [A; C_active] with condition number <= 30, active
// duals in [0.5, 2], inactive slacks in [0.5, 2]. Strict complementarity and
// LICQ hold by construction, so the derivative exists and is unique.
GeneratedQP random_qp(std::mt19937& rng, const QPShape& shape);

// ------------------------------------------------------------------- loss --

// L = wzᵀz + wlamᵀlam + wmuᵀmu: its gradients are the weights, so every
// incoming-gradient path of backward is exercised.
struct LinearLoss {
  Vector wz, wlam, wmu;
  double operator()(const Solution& solution) const;
};
LinearLoss random_loss(std::mt19937& rng, Index n, Index p, Index m);

// ---------------------------------------------------- finite differences --

// (f(x + h) - f(x - h)) / 2h, with every entry in `entries` moved together;
// the entries are restored afterwards.
double central_difference(const std::vector<double*>& entries, double h,
                          const std::function<double()>& f);

// Central differences of `loss` at layer.forward(qp) for all six data. The P
// block is paired: entry (i, j) holds the derivative for P_ij and P_ji moved
// together (P must stay symmetric); compare it with paired(analytic P).
DenseGradients fd_gradients(const Layer& layer, DenseQP qp, const LinearLoss& loss, double h);
SparseGradients fd_gradients(const Layer& layer, SparseQP qp, const LinearLoss& loss, double h);

// g_ij + g_ji off the diagonal, g_ii on it.
RowMatrix paired(const RowMatrix& gP);
// The same in P's storage order: value k plus the value of its transposed partner.
Vector paired(const SparseMatrix& P, const Vector& gP);

// --------------------------------------------------------------- checks --

// Worst violation of the full KKT conditions at the solution's (z, lam, mu),
// computed here, independently of the core.
double kkt_violation(const DenseProblem& qp, const Solution& s);
double kkt_violation(const SparseProblem& qp, const Solution& s);

// ||actual - expected||_inf / max(||expected||_inf, floor): relative for
// blocks of normal size, absolute (scaled by floor) for near-zero ones.
template <class A, class B>
double relative_error(const Eigen::MatrixBase<A>& actual, const Eigen::MatrixBase<B>& expected,
                      double floor = 1e-2) {
  if (actual.rows() != expected.rows() || actual.cols() != expected.cols()) return INFINITY;
  if (actual.size() == 0) return 0.0;
  const double scale = std::max(expected.cwiseAbs().maxCoeff(), floor);
  return (actual - expected).cwiseAbs().maxCoeff() / scale;
}

template <class A, class B>
::testing::AssertionResult near_relative(const Eigen::MatrixBase<A>& actual,
                                         const Eigen::MatrixBase<B>& expected, double tolerance,
                                         double floor = 1e-2) {
  const double error = relative_error(actual, expected, floor);
  if (error <= tolerance) return ::testing::AssertionSuccess();
  Eigen::IOFormat flat(Eigen::StreamPrecision, Eigen::DontAlignCols, ", ", "; ", "", "", "[", "]");
  std::ostringstream out;
  out << "relative error " << error << " > " << tolerance << "\n  actual   "
      << actual.format(flat) << "\n  expected " << expected.format(flat);
  return ::testing::AssertionFailure() << out.str();
}

// Runs `body` in a child process, so that a crash there fails the calling
// test instead of ending the whole suite. The child's gtest assertions are
// lost: `body` should only compute.
::testing::AssertionResult runs_without_crashing(const std::function<void()>& body);

// A GradientSelection computes the gradients it names, equal to those of a
// full backward to the last bit, and leaves the others empty.
template <class Gradients>
void expect_selected(const Gradients& part, const Gradients& full, const GradientSelection& wanted) {
  const auto check = [](bool want, const auto& got, const auto& all, const char* name) {
    if (want)
      EXPECT_EQ(got, all) << name;
    else
      EXPECT_EQ(got.size(), 0) << name << " was not asked for";
  };
  check(wanted.P, part.P, full.P, "P");
  check(wanted.q, part.q, full.q, "q");
  check(wanted.C, part.C, full.C, "C");
  check(wanted.d, part.d, full.d, "d");
  check(wanted.A, part.A, full.A, "A");
  check(wanted.b, part.b, full.b, "b");
}

// Runs `body` and returns the exception's what() if it threw
// std::invalid_argument; fails the test otherwise.
std::string invalid_argument_message(const std::function<void()>& body);

}  // namespace dqp::test
