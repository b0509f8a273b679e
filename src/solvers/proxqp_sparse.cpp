// ProxQP's sparse backend (same conventions as proxqp_dense.cpp).
#include <proxsuite/proxqp/sparse/sparse.hpp>

#include "adapters.hpp"
#include "proxqp.hpp"
#include "proxqp_common.hpp"

namespace dqp::solvers {

PrimalDual ProxQP::solve(const SparseProblem& qp, const Settings& settings,
                         const PrimalDual* warm) const {
  using ProxMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, Index>;
  const Index n = qp.n();
  auto matrix = [n](const SparseView& M, Index rows) {
    return M.rows() == rows ? ProxMatrix(M) : ProxMatrix(0, n);
  };
  return solve_proxqp<proxsuite::proxqp::sparse::QP<double, Index>>(
      matrix(qp.P, n), matrix(qp.C, qp.m()), matrix(qp.A, qp.p()), qp.q, qp.d, qp.b, settings, warm);
}

std::unique_ptr<QPSolver> make_proxqp() { return std::make_unique<ProxQP>(); }

}  // namespace dqp::solvers
