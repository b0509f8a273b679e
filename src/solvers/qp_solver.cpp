#include <stdexcept>

#include "dqp/qp_solver.hpp"

namespace dqp {

PrimalDual QPSolver::solve(const DenseProblem&, const Settings&, const PrimalDual*) const {
  throw std::invalid_argument("qp_solver '" + info().name + "' does not solve dense problems");
}

PrimalDual QPSolver::solve(const SparseProblem&, const Settings&, const PrimalDual*) const {
  throw std::invalid_argument("qp_solver '" + info().name + "' does not solve sparse problems");
}

}  // namespace dqp
