#include "dqp/status.hpp"

namespace dqp {

const char* to_string(Status status) {
  switch (status) {
    case Status::Optimal: return "optimal";
    case Status::PrimalInfeasible: return "primal_infeasible";
    case Status::DualInfeasible: return "dual_infeasible";
    case Status::MaxIterations: return "max_iterations";
    case Status::NumericalError: return "numerical_error";
    case Status::InvalidInput: return "invalid_input";
    case Status::NonConvex: return "non_convex";
    case Status::NotSolved: return "not_solved";
  }
  return "unknown";
}

}  // namespace dqp
