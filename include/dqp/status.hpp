// Outcome of a forward solve, one per problem.
#pragma once

namespace dqp {

enum class Status {
  Optimal,            // solved to the requested tolerance
  PrimalInfeasible,   // no z satisfies the constraints
  DualInfeasible,     // the objective is unbounded below
  MaxIterations,      // the solver stopped before reaching the tolerance
  NumericalError,     // the solver failed for numerical reasons
  InvalidInput,       // the data did not pass validation
  NotSolved,          // nothing was run yet
  NonConvex,          // P has negative curvature: no solver was run (a saddle is no optimum)
};

// Short, stable, lower-case name ("optimal", "primal_infeasible", ...).
const char* to_string(Status status);

inline bool is_optimal(Status status) { return status == Status::Optimal; }

}  // namespace dqp
