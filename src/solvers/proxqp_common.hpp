// What the dense and sparse ProxQP adapters share: settings and status mapping.
#pragma once

#include <proxsuite/proxqp/settings.hpp>
#include <proxsuite/proxqp/status.hpp>

#include <algorithm>

#include "dqp/qp_solver.hpp"
#include "dqp/settings.hpp"
#include "dqp/status.hpp"

namespace dqp::solvers {

using proxsuite::proxqp::isize;

// ProxQP treats bounds beyond ±1e20 as absent; a true infinity would reach
// its preconditioner as inf.
inline constexpr double kInfinity = 1e30;

template <class ProxSettings>
void apply_settings(ProxSettings& prox, const Settings& settings, bool warm) {
  prox.eps_abs = settings.eps_abs;
  prox.eps_rel = settings.eps_rel;
  prox.max_iter = settings.max_iter;
  prox.verbose = settings.verbose;
  // Without the duality-gap test ProxQP may stop at a stationary, feasible but
  // non-complementary point (seen on the seed example: z = (0.71, 0.71)).
  prox.check_duality_gap = true;
  prox.eps_duality_gap_abs = settings.eps_abs;
  prox.eps_duality_gap_rel = settings.eps_rel;
  prox.initial_guess = warm ? proxsuite::proxqp::InitialGuessStatus::WARM_START
                            : proxsuite::proxqp::InitialGuessStatus::EQUALITY_CONSTRAINED_INITIAL_GUESS;
}

inline Status map_status(proxsuite::proxqp::QPSolverOutput output) {
  using proxsuite::proxqp::QPSolverOutput;
  switch (output) {
    case QPSolverOutput::PROXQP_SOLVED: return Status::Optimal;
    case QPSolverOutput::PROXQP_MAX_ITER_REACHED: return Status::MaxIterations;
    case QPSolverOutput::PROXQP_PRIMAL_INFEASIBLE: return Status::PrimalInfeasible;
    case QPSolverOutput::PROXQP_SOLVED_CLOSEST_PRIMAL_FEASIBLE: return Status::PrimalInfeasible;
    case QPSolverOutput::PROXQP_DUAL_INFEASIBLE: return Status::DualInfeasible;
    case QPSolverOutput::PROXQP_NOT_RUN: return Status::NotSolved;
  }
  return Status::NumericalError;
}

// Solves with a dense or sparse ProxQP object (same API). ProxQP's default
// infeasibility thresholds (1e-4) raise false alarms: its sparse backend calls
// Maros-Meszaros HS118 primal infeasible after 9 iterations. An infeasibility
// report is therefore confirmed with strict thresholds; the strict run wins
// only if it finds a solution.
template <class Solver, class Matrix>
PrimalDual solve_proxqp(const Matrix& P, const Matrix& C, const Matrix& A, const VectorView& q,
                        const VectorView& d, const VectorView& b, const Settings& settings,
                        const PrimalDual* warm) {
  const Index n = q.size(), m = d.size(), p = b.size();
  const Vector lower = Vector::Constant(m, -kInfinity);
  auto run = [&](double strict_infeasibility, isize max_iter) {
    Solver solver(n, p, m);
    apply_settings(solver.settings, settings, warm != nullptr);
    solver.settings.max_iter = max_iter;
    if (strict_infeasibility > 0) {
      solver.settings.eps_primal_inf = strict_infeasibility;
      solver.settings.eps_dual_inf = strict_infeasibility;
    }
    solver.init(P, q, A, b, C, lower, d);
    if (warm != nullptr)
      solver.solve(warm->z, warm->lam, warm->mu);
    else
      solver.solve();
    PrimalDual out;
    out.z = solver.results.x;
    out.lam = solver.results.y;
    out.mu = solver.results.z;
    out.has_duals = true;
    out.status = map_status(solver.results.info.status);
    out.iterations = static_cast<int>(solver.results.info.iter);
    return out;
  };
  PrimalDual out = run(0.0, settings.max_iter);
  if (out.status == Status::PrimalInfeasible || out.status == Status::DualInfeasible) {
    // A feasible problem solves in a few times the iterations the false alarm
    // took (HS118: 9, then 28); a truly infeasible one must not run for long.
    const isize budget = std::min<isize>(settings.max_iter, std::max(100, 10 * out.iterations));
    PrimalDual confirmed = run(1e-8, budget);
    if (is_optimal(confirmed.status)) {
      confirmed.iterations += out.iterations;
      return confirmed;
    }
  }
  return out;
}

}  // namespace dqp::solvers
