// COIN-OR Clp (dense and sparse), from the cmeel-clp wheel.
//
// The variables are Clp's columns, all free; the rows are [A; C] with bounds
// b ≤ A z ≤ b and -inf ≤ C z ≤ d. Clp's stationarity is
// P z + q - [A; C]ᵀ y = reduced costs, zero for free columns, so dqp's duals
// are -y.
//
// Clp stores one triangle of P and counts each stored off-diagonal entry
// twice in ½ zᵀ P z. It must be the lower one: ClpSimplex::barrier mirrors
// the lower triangle into a full matrix and aborts the process on an upper one.
//
// Algorithm: the barrier without crossover, then the primal simplex (a
// reduced-gradient method for the quadratic part) started from the barrier's
// point (values pass): the barrier alone stops at 1e-5 accuracy and gives up
// on some singular P; the simplex alone, or started from a warm point, is
// slower (so the adapter takes no warm start). Scaling is off: with Clp's
// default scaling the barrier starts from an objective norm of 1e24 on
// well-scaled problems and the simplex then loops without end (equality-only
// problems of 9 variables), or stops with status "optimal" far from the
// optimum (4 % of random problems of 100 variables).
//
// Clp bounds free columns by its infinity (1e30) internally: on an unbounded
// problem it reports "optimal" with a variable there. Such an answer is
// reported as dual infeasible. The simplex can also stop with "optimal" at a
// point that is not one (Maros-Meszaros QE226: row duals of the wrong sign,
// as large as the duals themselves, with any scaling, and again after a
// restart): every "optimal" answer is checked against the KKT conditions and
// reported as a numerical error when it fails them.
//
// Threads: each solve owns its ClpSimplex. initialSolve() is not used: it
// installs a process-wide SIGINT handler and keeps the model in a global.
// The time limit is wall time: Clp's CPU-time limit reads the whole
// process's CPU time, which other threads' solves would use up.
#include <ClpSimplex.hpp>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

// Compressed columns in Clp's index types.
struct ClpColumns {
  std::vector<CoinBigIndex> start{0};
  std::vector<int> index;
  std::vector<double> value;

  void add(Index row, double entry) {
    if (entry == 0.0) return;
    index.push_back(static_cast<int>(row));
    value.push_back(entry);
  }
  void close_column() { start.push_back(static_cast<CoinBigIndex>(index.size())); }
};

void check_fits(Index count, const char* what) {
  if (count > INT_MAX)
    throw std::invalid_argument(std::string("qp_solver 'clp': ") + what +
                                " exceed Clp's 32-bit indices");
}

// Entry (row, column) of P with row >= column, and [A; C] by columns.
ClpColumns lower_triangle(const DenseView& P) {
  ClpColumns out;
  for (Index j = 0; j < P.cols(); ++j) {
    for (Index i = j; i < P.rows(); ++i) out.add(i, P(i, j));
    out.close_column();
  }
  return out;
}

ClpColumns lower_triangle(const SparseView& P) {
  check_fits(P.nonZeros(), "P's nonzeros");
  ClpColumns out;
  for (Index j = 0; j < P.outerSize(); ++j) {
    for (SparseView::InnerIterator it(P, j); it; ++it)
      if (it.row() >= j) out.add(it.row(), it.value());
    out.close_column();
  }
  return out;
}

// problem.hpp allows a matrix without rows to come as (0, 0): such a block
// contributes nothing, whatever its column count.
ClpColumns stacked(const DenseView& A, const DenseView& C, Index n) {
  const Index p = A.rows(), m = C.rows();
  ClpColumns out;
  for (Index j = 0; j < n; ++j) {
    for (Index i = 0; i < p; ++i) out.add(i, A(i, j));
    for (Index i = 0; i < m; ++i) out.add(p + i, C(i, j));
    out.close_column();
  }
  return out;
}

ClpColumns stacked(const SparseView& A, const SparseView& C, Index n) {
  check_fits(A.nonZeros() + C.nonZeros(), "the constraints' nonzeros");
  const Index p = A.rows();
  ClpColumns out;
  for (Index j = 0; j < n; ++j) {
    if (p > 0)
      for (SparseView::InnerIterator it(A, j); it; ++it) out.add(it.row(), it.value());
    if (C.rows() > 0)
      for (SparseView::InnerIterator it(C, j); it; ++it) out.add(p + it.row(), it.value());
    out.close_column();
  }
  return out;
}

// Beyond any solution of a problem that passed validation, far below the 1e30
// at which Clp parks an unbounded free column.
constexpr double kUnboundedValue = 1e20;

Status map_status(const ClpSimplex& model, const Vector& z) {
  switch (model.status()) {
    case 0:
      return z.size() > 0 && z.cwiseAbs().maxCoeff() >= kUnboundedValue ? Status::DualInfeasible
                                                                         : Status::Optimal;
    case 1: return Status::PrimalInfeasible;
    case 2: return Status::DualInfeasible;
    case 3: return Status::MaxIterations;  // iterations or time
    default: return Status::NumericalError;
  }
}

double largest(const Vector& v) { return v.size() > 0 ? v.cwiseAbs().maxCoeff() : 0.0; }

// Stationarity, primal feasibility, dual signs and complementarity of an
// answer in dqp's convention, each relative to the size of its terms, within
// `tolerance`.
template <class Problem>
bool satisfies_kkt(const Problem& qp, const PrimalDual& point, double tolerance) {
  const Vector Pz = qp.P * point.z;
  Vector gradient = Pz + qp.q;
  double gradient_scale = std::max(largest(Pz), largest(qp.q));
  double infeasibility = 0.0, constraint_scale = 0.0, sign = 0.0, complementarity = 0.0;
  if (qp.p() > 0) {
    const Vector Az = qp.A * point.z, Atlam = qp.A.transpose() * point.lam;
    gradient += Atlam;
    gradient_scale = std::max(gradient_scale, largest(Atlam));
    infeasibility = largest(Az - qp.b);
    constraint_scale = std::max(largest(Az), largest(qp.b));
  }
  if (qp.m() > 0) {
    const Vector Cz = qp.C * point.z, Ctmu = qp.C.transpose() * point.mu;
    const Vector slack = qp.d - Cz;
    gradient += Ctmu;
    gradient_scale = std::max(gradient_scale, largest(Ctmu));
    infeasibility = std::max(infeasibility, -slack.minCoeff());
    constraint_scale = std::max({constraint_scale, largest(Cz), largest(qp.d)});
    const double mu_scale = 1.0 + largest(point.mu);
    sign = std::max(0.0, -point.mu.minCoeff()) / mu_scale;
    complementarity = largest(point.mu.cwiseProduct(slack.cwiseMax(0.0))) /
                      (mu_scale * (1.0 + constraint_scale));
  }
  return largest(gradient) <= tolerance * (1.0 + gradient_scale) &&
         infeasibility <= tolerance * (1.0 + constraint_scale) && sign <= tolerance &&
         complementarity <= tolerance;
}

// An answer within this many times eps_abs of the KKT conditions (relative)
// is accepted; Clp's own tolerances are absolute, in its internal measure.
constexpr double kKKTSlack = 100.0;
constexpr double kKKTFloor = 1e-5;

template <class Problem>
PrimalDual solve_clp(const Problem& qp, const Settings& settings) {
  const Index n = qp.n(), m = qp.m(), p = qp.p(), rows = p + m;
  check_fits(n + rows, "the variables and constraints");
  const ClpColumns constraints = stacked(qp.A, qp.C, n);
  const ClpColumns quadratic = lower_triangle(qp.P);

  const std::vector<double> column_lower(n, -COIN_DBL_MAX), column_upper(n, COIN_DBL_MAX);
  std::vector<double> row_lower(rows), row_upper(rows);
  for (Index i = 0; i < p; ++i) row_lower[i] = row_upper[i] = qp.b[i];
  for (Index i = 0; i < m; ++i) {
    row_lower[p + i] = -COIN_DBL_MAX;
    row_upper[p + i] = qp.d[i];
  }
  const Vector q = qp.q;

  ClpSimplex model;
  model.setLogLevel(settings.verbose ? 1 : 0);
  model.scaling(0);
  model.loadProblem(static_cast<int>(n), static_cast<int>(rows), constraints.start.data(),
                    constraints.index.data(), constraints.value.data(), column_lower.data(),
                    column_upper.data(), q.data(), row_lower.data(), row_upper.data());
  if (!quadratic.value.empty())
    model.loadQuadraticObjective(static_cast<int>(n), quadratic.start.data(),
                                 quadratic.index.data(), quadratic.value.data());
  model.setPrimalTolerance(settings.eps_abs);
  model.setDualTolerance(settings.eps_abs);
  model.setMaximumIterations(settings.max_iter);
  if (settings.time_limit > 0) model.setMaximumWallSeconds(settings.time_limit);

  model.barrier(false);
  int iterations = model.numberIterations();
  model.primal(1);
  iterations += model.numberIterations();

  PrimalDual out;
  out.z = Eigen::Map<const Vector>(model.primalColumnSolution(), n);
  const Eigen::Map<const Vector> y(model.dualRowSolution(), rows);
  out.lam = -y.head(p);
  out.mu = -y.tail(m);
  out.has_duals = true;
  out.status = map_status(model, out.z);
  if (is_optimal(out.status) &&
      !satisfies_kkt(qp, out, std::max(kKKTSlack * settings.eps_abs, kKKTFloor)))
    out.status = Status::NumericalError;
  out.iterations = iterations;
  return out;
}

class Clp final : public QPSolver {
 public:
  SolverInfo info() const override { return {"clp", true, true, true, false}; }
  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    return solve_clp(qp, settings);
  }
  PrimalDual solve(const SparseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    return solve_clp(qp, settings);
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_clp() { return std::make_unique<Clp>(); }

}  // namespace dqp::solvers
