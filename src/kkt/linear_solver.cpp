#include <stdexcept>

#include "dqp/kkt_solver.hpp"

namespace dqp {

std::unique_ptr<KKTFactorization> LinearSolver::factorize(const KKTDense&) const {
  throw std::invalid_argument("linear solver '" + info().name + "' does not take dense matrices");
}

std::unique_ptr<KKTFactorization> LinearSolver::factorize(const KKTSparse&) const {
  throw std::invalid_argument("linear solver '" + info().name + "' does not take sparse matrices");
}

}  // namespace dqp
