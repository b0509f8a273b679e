// What the dense and sparse ProxQP adapters share: settings and status mapping.
#pragma once

#include <proxsuite/proxqp/settings.hpp>
#include <proxsuite/proxqp/status.hpp>

#include "dqp/settings.hpp"
#include "dqp/status.hpp"

namespace dqp::solvers {

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

}  // namespace dqp::solvers
