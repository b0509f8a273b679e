// DAQP (dual active-set method, dense), compiled from its PyPI sdist.
//
// DAQP solves  min ½ xᵀHx + fᵀx  s.t.  blower ≤ M x ≤ bupper.  dqp's rows go
// in as M = [A; C]: the equalities first, with blower = bupper = b and marked
// active and immutable, then C z ≤ d with blower = -inf. DAQP's stationarity
// is H x + f + Mᵀ λ = 0 with λ ≥ 0 at an upper bound (tests/cpp/test_daqp.cpp
// checks it): dqp's (lam, mu) are DAQP's multipliers as they come.
//
// A positive semidefinite P is fine: DAQP's default (negative) eps_prox
// switches to proximal-point iterations when the Cholesky factorization of P
// finds it singular; P = 0 goes in as DAQP's LP (no Hessian). DAQP prints
// nothing, so `verbose` has no effect.
#include <api.h>

#include <climits>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

Status map_status(int exitflag) {
  switch (exitflag) {
    case DAQP_EXIT_OPTIMAL:
    case DAQP_EXIT_SOFT_OPTIMAL: return Status::Optimal;  // dqp sets no soft rows
    case DAQP_EXIT_INFEASIBLE: return Status::PrimalInfeasible;
    case DAQP_EXIT_UNBOUNDED: return Status::DualInfeasible;
    case DAQP_EXIT_ITERLIMIT:
    case DAQP_EXIT_TIMELIMIT: return Status::MaxIterations;
    // OPTIMAL_INEXACT: found after cycling, violating a row by more than
    // primal_tol, i.e. not to the requested tolerance. Also CYCLE, NONCONVEX
    // (P not positive semidefinite), OVERDETERMINED_INITIAL (an initial working
    // set of more than n rows) and the outcomes of problem kinds dqp never poses.
    default: return Status::NumericalError;
  }
}

class Daqp final : public QPSolver {
 public:
  SolverInfo info() const override { return {"daqp", true, false, true, true}; }

  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual* warm) const override {
    const Index n = qp.n(), m = qp.m(), p = qp.p(), rows = p + m;
    // DAQP indexes with int, its constraint matrix included.
    if (n > INT_MAX / std::max<Index>(rows, 1))
      throw std::invalid_argument("qp_solver 'daqp': n * (number of rows) = " +
                                  std::to_string(n * rows) + " exceeds DAQP's int indexing");

    // DAQP takes non-const pointers: it gets its own copies.
    RowMatrix H = qp.P;
    Vector f = qp.q;
    RowMatrix M(rows, n);
    if (p > 0) M.topRows(p) = qp.A;
    if (m > 0) M.bottomRows(m) = qp.C;
    Vector upper(rows), lower(rows);
    upper << qp.b, qp.d;
    lower << qp.b, Vector::Constant(m, -DAQP_INF);
    std::vector<int> cold_sense(rows, 0);
    for (Index i = 0; i < p; ++i) cold_sense[i] = DAQP_ACTIVE | DAQP_IMMUTABLE;

    DAQPSettings options;
    daqp_default_settings(&options);
    // eps_abs bounds the constraint violation DAQP accepts (primal_tol);
    // eps_rel adds that much of the largest right-hand side. DAQP's dual_tol
    // (the sign test on multipliers, 1e-12) stays: an active-set method's
    // duals are exact on its working set, and loosening it would only let
    // wrong-sign multipliers through.
    const double rhs_scale = rows > 0 ? std::max(qp.b.lpNorm<Eigen::Infinity>(),
                                                 qp.d.lpNorm<Eigen::Infinity>())
                                      : 0.0;
    options.primal_tol = settings.eps_abs + settings.eps_rel * rhs_scale;
    options.iter_limit = settings.max_iter;
    options.time_limit = settings.time_limit;  // seconds, 0: none (as in dqp)

    PrimalDual out;
    out.z = Vector::Zero(n);
    Vector multipliers = Vector::Zero(rows);

    auto run = [&](std::vector<int>& sense) {
      DAQPProblem problem{};
      problem.n = static_cast<int>(n);
      problem.m = static_cast<int>(rows);
      problem.ms = 0;
      problem.H = H.isZero(0.0) ? nullptr : H.data();
      problem.f = f.data();
      problem.A = rows > 0 ? M.data() : nullptr;
      problem.bupper = rows > 0 ? upper.data() : nullptr;
      problem.blower = rows > 0 ? lower.data() : nullptr;
      problem.sense = rows > 0 ? sense.data() : nullptr;
      DAQPResult result{};
      result.x = out.z.data();
      result.lam = rows > 0 ? multipliers.data() : nullptr;
      daqp_quadprog(&result, &problem, &options);
      out.iterations += result.iter;
      return map_status(result.exitflag);
    };

    // A warm start is the previous solution's active set: the rows with a
    // positive dual start in DAQP's working set. A working set that does not
    // fit the new data (dependent rows, more than n) is dropped for a cold run.
    bool solved = false;
    if (warm != nullptr && warm->mu.size() == m) {
      std::vector<int> warm_sense = cold_sense;
      bool any = false;
      for (Index i = 0; i < m; ++i)
        if (warm->mu[i] > 0) warm_sense[p + i] |= DAQP_ACTIVE, any = true;
      if (any) {
        out.status = run(warm_sense);
        solved = is_optimal(out.status);
      }
    }
    if (!solved) out.status = run(cold_sense);

    out.lam = multipliers.head(p);
    out.mu = multipliers.tail(m);
    out.has_duals = true;
    return out;
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_daqp() { return std::make_unique<Daqp>(); }

}  // namespace dqp::solvers
