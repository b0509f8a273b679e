// ProxQP's dense backend. dqp's C z ≤ d is ProxQP's -inf ≤ C z ≤ d, so
// ProxQP's inequality dual is dqp's mu with the same sign.
#include <limits>

#include <proxsuite/proxqp/dense/dense.hpp>

#include "proxqp.hpp"
#include "proxqp_common.hpp"

namespace dqp::solvers {

PrimalDual ProxQP::solve(const DenseProblem& qp, const Settings& settings,
                         const PrimalDual* warm) const {
  const Index n = qp.n(), m = qp.m(), p = qp.p();
  proxsuite::proxqp::dense::QP<double> solver(n, p, m);
  apply_settings(solver.settings, settings, warm != nullptr);

  // ProxQP stores column-major copies; converting here is that copy.
  const Eigen::MatrixXd P = qp.P, C = qp.C.rows() == m ? Eigen::MatrixXd(qp.C) : Eigen::MatrixXd(0, n),
                        A = qp.A.rows() == p ? Eigen::MatrixXd(qp.A) : Eigen::MatrixXd(0, n);
  const Vector lower = Vector::Constant(m, -kInfinity);
  solver.init(P, qp.q, A, qp.b, C, lower, qp.d);
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
}

}  // namespace dqp::solvers
