// ProxQP (ProxSuite): proximal augmented Lagrangian, dense and sparse backends.
#pragma once

#include "dqp/qp_solver.hpp"

namespace dqp::solvers {

class ProxQP final : public QPSolver {
 public:
  SolverInfo info() const override { return {"proxqp", true, true, true, true}; }
  PrimalDual solve(const DenseProblem& problem, const Settings& settings,
                   const PrimalDual* warm) const override;
  PrimalDual solve(const SparseProblem& problem, const Settings& settings,
                   const PrimalDual* warm) const override;
};

}  // namespace dqp::solvers
