// qpOASES (online active-set method, dense), from the cmeel-qpoases wheel.
// dqp's A z = b and C z ≤ d become qpOASES's general constraints
// lbA ≤ [A; C] z ≤ ubA with lbA = [b; -inf], ubA = [b; d]. qpOASES's
// stationarity is H x + g - [A; C]ᵀ y = 0, so dqp's duals are -y.
#include <qpOASES.hpp>

#include <algorithm>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

Status map_status(qpOASES::returnValue value) {
  switch (qpOASES::getSimpleStatus(value)) {
    case 0: return Status::Optimal;
    case 1: return Status::MaxIterations;
    case -2: return Status::PrimalInfeasible;
    case -3: return Status::DualInfeasible;
    default: return Status::NumericalError;
  }
}

class QPOases final : public QPSolver {
 public:
  SolverInfo info() const override { return {"qpoases", true, false, true, false}; }

  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const Index n = qp.n(), m = qp.m(), p = qp.p(), rows = p + m;
    const RowMatrix H = qp.P;  // qpOASES keeps shallow copies: own them here
    RowMatrix G(rows, n);
    if (p > 0) G.topRows(p) = qp.A;
    if (m > 0) G.bottomRows(m) = qp.C;
    Vector lower(rows), upper(rows);
    lower << qp.b, Vector::Constant(m, -qpOASES::INFTY);
    upper << qp.b, qp.d;
    const Vector g = qp.q;

    qpOASES::Options options;
    options.setToDefault();
    options.printLevel = settings.verbose ? qpOASES::PL_MEDIUM : qpOASES::PL_NONE;
    options.enableRegularisation = qpOASES::BT_TRUE;  // positive semidefinite P
    options.terminationTolerance = std::max(settings.eps_abs * 1e-3, 1e-14);
    int working_set_changes = settings.max_iter;

    PrimalDual out;
    out.z = Vector::Zero(n);
    Vector y = Vector::Zero(n + rows);  // bound duals first, then constraint duals
    qpOASES::returnValue value;
    if (rows == 0) {
      qpOASES::QProblemB problem(static_cast<int>(n));
      problem.setOptions(options);
      value = problem.init(H.data(), g.data(), nullptr, nullptr, working_set_changes);
      problem.getPrimalSolution(out.z.data());
      problem.getDualSolution(y.data());
    } else {
      qpOASES::QProblem problem(static_cast<int>(n), static_cast<int>(rows));
      problem.setOptions(options);
      value = problem.init(H.data(), g.data(), G.data(), nullptr, nullptr, lower.data(),
                           upper.data(), working_set_changes);
      problem.getPrimalSolution(out.z.data());
      problem.getDualSolution(y.data());
    }
    out.lam = -y.segment(n, p);
    out.mu = -y.tail(m);
    out.has_duals = true;
    out.status = map_status(value);
    out.iterations = working_set_changes;
    return out;
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_qpoases() { return std::make_unique<QPOases>(); }

}  // namespace dqp::solvers
