// ProxQP's sparse backend (same conventions as proxqp_dense.cpp).
#include <limits>

#include <proxsuite/proxqp/sparse/sparse.hpp>

#include "adapters.hpp"
#include "proxqp.hpp"
#include "proxqp_common.hpp"

namespace dqp::solvers {

PrimalDual ProxQP::solve(const SparseProblem& qp, const Settings& settings,
                         const PrimalDual* warm) const {
  using ProxMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, Index>;
  const Index n = qp.n(), m = qp.m(), p = qp.p();
  proxsuite::proxqp::sparse::QP<double, Index> solver(n, p, m);
  apply_settings(solver.settings, settings, warm != nullptr);

  const ProxMatrix P = qp.P;
  const ProxMatrix C = qp.C.rows() == m ? ProxMatrix(qp.C) : ProxMatrix(0, n);
  const ProxMatrix A = qp.A.rows() == p ? ProxMatrix(qp.A) : ProxMatrix(0, n);
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

std::unique_ptr<QPSolver> make_proxqp() { return std::make_unique<ProxQP>(); }

}  // namespace dqp::solvers
