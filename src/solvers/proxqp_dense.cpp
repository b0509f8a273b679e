// ProxQP's dense backend. dqp's C z ≤ d is ProxQP's -inf ≤ C z ≤ d, so
// ProxQP's inequality dual is dqp's mu with the same sign.
#include <proxsuite/proxqp/dense/dense.hpp>

#include "proxqp.hpp"
#include "proxqp_common.hpp"

namespace dqp::solvers {

PrimalDual ProxQP::solve(const DenseProblem& qp, const Settings& settings,
                         const PrimalDual* warm) const {
  const Index n = qp.n();
  // ProxQP keeps column-major copies; converting here is that copy.
  auto matrix = [n](const DenseView& M, Index rows) {
    return M.rows() == rows ? Eigen::MatrixXd(M) : Eigen::MatrixXd(0, n);
  };
  return solve_proxqp<proxsuite::proxqp::dense::QP<double>>(
      matrix(qp.P, n), matrix(qp.C, qp.m()), matrix(qp.A, qp.p()), qp.q, qp.d, qp.b, settings, warm);
}

}  // namespace dqp::solvers
