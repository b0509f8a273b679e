#include <stdexcept>

#include "dqp/kkt_solver.hpp"

namespace dqp {

std::unique_ptr<KKTFactorization> LinearSolver::factorize(const KKTDense&) const {
  throw std::invalid_argument("linear solver '" + info().name + "' does not take dense matrices");
}

std::unique_ptr<KKTFactorization> LinearSolver::factorize(const KKTSparse&) const {
  throw std::invalid_argument("linear solver '" + info().name + "' does not take sparse matrices");
}

std::unique_ptr<KKTFactorization> LinearSolver::factorize_kkt(const KKTDense& K, Index) const {
  return factorize(K);
}

std::unique_ptr<KKTFactorization> LinearSolver::factorize_kkt(const KKTSparse& K, Index) const {
  return factorize(K);
}

}  // namespace dqp
