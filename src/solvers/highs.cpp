// HiGHS, compiled from the highspy sdist: its active-set QP solver (and its
// simplex when P = 0), on sparse data; dense problems are converted.
//
// HiGHS solves  min ½ xᵀQx + cᵀx  s.t.  row_lower ≤ G x ≤ row_upper,
// col_lower ≤ x ≤ col_upper, with Q given as its lower triangle by columns.
// dqp's rows go in as G = [C; A] with row bounds [-inf, d] and [b, b]; the
// columns are free. The inequalities come first, as qpsolvers orders them:
// with the equalities first HiGHS's active-set method cycles on some problems
// (Maros-Meszaros QSHELL: 200000 iterations against 750). HiGHS's row duals y
// satisfy Q x + c - Gᵀ y = 0 (y ≤ 0 at an upper bound, for a minimization),
// so dqp's duals are -y (tests/cpp/test_highs.cpp checks the signs).
//
// Settings:
//   eps_abs   -> primal_feasibility_tolerance and dual_feasibility_tolerance
//                (the active-set solver's bound on a row's violation and on a
//                wrong-sign multiplier), clamped to HiGHS's minimum 1e-10;
//   eps_rel   -> none: HiGHS has no relative tolerance;
//   max_iter  -> qp_iteration_limit, and simplex_iteration_limit for the
//                feasibility phase (and LPs);
//   time_limit-> time_limit (0: none);
//   verbose   -> output_flag, set before anything else so that nothing, the
//                banner included, is printed when it is false.
// HiGHS adds qp_regularization_value (1e-7) to Q's diagonal; the raw point is
// off by about that much, which dqp's polish removes.
//
// No warm start: HiGHS's QP hot start needs a primal point feasible for the
// new data and a full QP basis (the active rows plus a complementary set of
// nonbasic columns); a previous solution of other data is rarely feasible.
//
// Threads: HiGHS keeps one task scheduler per calling thread, sized on its
// first use in that thread. Every solve asks for one thread: the batch
// engine runs solves in parallel itself, and a thread's scheduler must keep
// the size it was created with.
// Highs.h has unused parameters in inline stubs: not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <Highs.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

Status map_status(HighsModelStatus status) {
  switch (status) {
    case HighsModelStatus::kOptimal: return Status::Optimal;
    case HighsModelStatus::kInfeasible: return Status::PrimalInfeasible;
    case HighsModelStatus::kUnbounded: return Status::DualInfeasible;
    case HighsModelStatus::kTimeLimit:
    case HighsModelStatus::kIterationLimit: return Status::MaxIterations;
    default: return Status::NumericalError;
  }
}

// HiGHS indexes with int (HighsInt without HIGHSINT64).
HighsInt checked_count(Index count, const char* what) {
  if (count > std::numeric_limits<HighsInt>::max())
    throw std::invalid_argument(std::string("qp_solver 'highs': ") + what + " (" +
                                std::to_string(count) + ") exceeds HiGHS's int indexing");
  return static_cast<HighsInt>(count);
}

// dqp's problem as a HiGHS model. A matrix without rows may come as (0, 0).
HighsModel make_model(const SparseProblem& qp) {
  const Index n = qp.n(), m = qp.m(), p = qp.p();
  const double inf = kHighsInf;
  HighsModel model;
  HighsLp& lp = model.lp_;
  lp.num_col_ = checked_count(n, "n");
  lp.num_row_ = checked_count(p + m, "the number of rows");
  lp.col_cost_.assign(qp.q.data(), qp.q.data() + n);
  lp.col_lower_.assign(n, -inf);
  lp.col_upper_.assign(n, inf);
  lp.row_lower_.resize(p + m);
  lp.row_upper_.resize(p + m);
  for (Index i = 0; i < m; ++i) {
    lp.row_lower_[i] = -inf;
    lp.row_upper_[i] = qp.d[i];
  }
  for (Index i = 0; i < p; ++i) lp.row_lower_[m + i] = lp.row_upper_[m + i] = qp.b[i];

  // G = [C; A] by columns.
  HighsSparseMatrix& G = lp.a_matrix_;
  G.format_ = MatrixFormat::kColwise;
  G.num_col_ = lp.num_col_;
  G.num_row_ = lp.num_row_;
  checked_count((p > 0 ? qp.A.nonZeros() : 0) + (m > 0 ? qp.C.nonZeros() : 0), "nnz(A) + nnz(C)");
  G.start_.assign(1, 0);
  for (Index j = 0; j < n; ++j) {
    if (m > 0)
      for (SparseView::InnerIterator it(qp.C, j); it; ++it) {
        G.index_.push_back(static_cast<HighsInt>(it.row()));
        G.value_.push_back(it.value());
      }
    if (p > 0)
      for (SparseView::InnerIterator it(qp.A, j); it; ++it) {
        G.index_.push_back(static_cast<HighsInt>(m + it.row()));
        G.value_.push_back(it.value());
      }
    G.start_.push_back(static_cast<HighsInt>(G.index_.size()));
  }

  // The lower triangle of P by columns; none at all when P = 0 (an LP).
  HighsHessian& Q = model.hessian_;
  std::vector<HighsInt> start{0};
  for (Index j = 0; j < n; ++j) {
    for (SparseView::InnerIterator it(qp.P, j); it; ++it)
      if (it.row() >= j && it.value() != 0.0) {
        Q.index_.push_back(static_cast<HighsInt>(it.row()));
        Q.value_.push_back(it.value());
      }
    start.push_back(static_cast<HighsInt>(Q.index_.size()));
  }
  if (!Q.index_.empty()) {
    Q.dim_ = lp.num_col_;
    Q.format_ = HessianFormat::kTriangular;
    Q.start_ = std::move(start);
  } else {
    Q.clear();
  }
  return model;
}

PrimalDual solve_model(HighsModel model, Index n, Index p, Index m, const Settings& settings) {
  Highs highs;
  highs.setOptionValue("output_flag", settings.verbose);
  highs.setOptionValue("threads", 1);
  const double tolerance = std::max(settings.eps_abs, 1e-10);
  highs.setOptionValue("primal_feasibility_tolerance", tolerance);
  highs.setOptionValue("dual_feasibility_tolerance", tolerance);
  highs.setOptionValue("qp_iteration_limit", settings.max_iter);
  highs.setOptionValue("simplex_iteration_limit", settings.max_iter);
  if (settings.time_limit > 0) highs.setOptionValue("time_limit", settings.time_limit);

  PrimalDual out;
  out.z = Vector::Zero(n);
  out.lam = Vector::Zero(p);
  out.mu = Vector::Zero(m);
  if (highs.passModel(std::move(model)) == HighsStatus::kError) {
    out.status = Status::NumericalError;
    return out;
  }
  highs.run();
  HighsModelStatus status = highs.getModelStatus();
  // HiGHS's LP presolve may stop at "infeasible or unbounded"; without
  // presolve the solver tells which.
  if (status == HighsModelStatus::kUnboundedOrInfeasible) {
    highs.setOptionValue("presolve", "off");
    highs.run();
    status = highs.getModelStatus();
  }
  out.status = map_status(status);
  const HighsInfo& info = highs.getInfo();
  out.iterations = std::max<HighsInt>(info.qp_iteration_count, 0) +
                   std::max<HighsInt>(info.simplex_iteration_count, 0);

  const HighsSolution& solution = highs.getSolution();
  if (solution.value_valid && static_cast<Index>(solution.col_value.size()) == n)
    out.z = Eigen::Map<const Vector>(solution.col_value.data(), n);
  if (solution.dual_valid && static_cast<Index>(solution.row_dual.size()) == p + m) {
    const Eigen::Map<const Vector> y(solution.row_dual.data(), p + m);
    out.mu = -y.head(m);
    out.lam = -y.tail(p);
    out.has_duals = true;
  }
  return out;
}

class HiGHS final : public QPSolver {
 public:
  SolverInfo info() const override { return {"highs", true, true, true, false}; }

  PrimalDual solve(const SparseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    return solve_model(make_model(qp), qp.n(), qp.p(), qp.m(), settings);
  }

  // Dense data go through compressed copies (HiGHS copies its data anyway).
  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const SparseMatrix P = qp.P.sparseView(), C = qp.C.sparseView(), A = qp.A.sparseView();
    const auto view = [](const SparseMatrix& M) {
      return SparseView(M.rows(), M.cols(), M.nonZeros(), M.outerIndexPtr(), M.innerIndexPtr(),
                        M.valuePtr());
    };
    return solve_model(make_model({view(P), qp.q, view(C), qp.d, view(A), qp.b}), qp.n(), qp.p(),
                       qp.m(), settings);
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_highs() { return std::make_unique<HiGHS>(); }

}  // namespace dqp::solvers
