// PIQP (proximal interior point; header-only C++/Eigen from its PyPI sdist),
// dense and sparse backends.
//
// PIQP solves  min ½ xᵀP x + cᵀx  s.t.  A x = b,  h_l ≤ G x ≤ h_u,  x_l ≤ x ≤ x_u
// and its stationarity is  P x + c + Aᵀy + Gᵀ(z_u - z_l) (+ bound terms) = 0
// with z_l, z_u ≥ 0. dqp's C z ≤ d is G = C, h_u = d with no h_l (so z_l = 0):
// dqp's lam is y and mu is z_u, signs unchanged.
//
// Not taken from dqp's settings:
// * warm starts: PIQP's solve() always starts from its own initial point;
// * time_limit: PIQP 0.7 has no wall-time limit and no callback to stop it.
#include <piqp/piqp.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

Status map_status(piqp::Status status) {
  switch (status) {
    case piqp::Status::PIQP_SOLVED: return Status::Optimal;
    case piqp::Status::PIQP_MAX_ITER_REACHED: return Status::MaxIterations;
    case piqp::Status::PIQP_PRIMAL_INFEASIBLE: return Status::PrimalInfeasible;
    case piqp::Status::PIQP_DUAL_INFEASIBLE: return Status::DualInfeasible;
    case piqp::Status::PIQP_NUMERICS: return Status::NumericalError;
    // setup() refused the data (it prints why): dqp validated them, so this
    // is a failure of the solver, not of the input.
    case piqp::Status::PIQP_UNSOLVED: return Status::NumericalError;
    case piqp::Status::PIQP_INVALID_SETTINGS:
      throw std::invalid_argument(
          "qp_solver 'piqp' rejected the settings derived from eps_abs, eps_rel and max_iter");
  }
  return Status::NumericalError;
}

template <class Solver>
void apply_settings(Solver& solver, const Settings& settings) {
  piqp::Settings<double>& s = solver.settings();
  // dqp allows eps_abs = 0 (relative test only); PIQP requires eps_abs > 0 and
  // stops when the absolute OR the relative test passes, so machine epsilon
  // leaves the relative test in charge.
  const double eps_abs = std::max(settings.eps_abs, std::numeric_limits<double>::epsilon());
  s.eps_abs = eps_abs;
  s.eps_rel = settings.eps_rel;  // 0 (dqp's default) disables PIQP's relative test
  s.eps_duality_gap_abs = eps_abs;
  s.eps_duality_gap_rel = settings.eps_rel;
  s.max_iter = settings.max_iter;
  s.verbose = settings.verbose;
}

// Rows of C with d_i ≥ PIQP_INF are absent to PIQP, which then zeroes them
// with a warning on stderr. They can never be active: they are left out here
// and their duals are 0.
std::vector<Index> bounded_rows(const VectorView& d) {
  std::vector<Index> rows;
  for (Index i = 0; i < d.size(); ++i)
    if (d[i] < PIQP_INF) rows.push_back(i);
  return rows;
}

template <class Solver>
PrimalDual collect(Solver& solver, Index m, const std::vector<Index>& kept) {
  const piqp::Status status = solver.solve();
  const piqp::Result<double>& result = solver.result();
  PrimalDual out;
  out.status = map_status(status);
  out.z = result.x;
  out.lam = result.y;
  out.mu = Vector::Zero(m);
  for (std::size_t k = 0; k < kept.size(); ++k) out.mu[kept[k]] = result.z_u[static_cast<Index>(k)];
  out.has_duals = true;
  out.iterations = static_cast<int>(result.info.iter);
  return out;
}

class PIQP final : public QPSolver {
 public:
  SolverInfo info() const override { return {"piqp", true, true, true, false}; }

  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const Index n = qp.n(), m = qp.m(), p = qp.p();
    const std::vector<Index> kept = bounded_rows(qp.d);
    const auto k = static_cast<Index>(kept.size());
    // PIQP keeps column-major copies (of Aᵀ, Gᵀ and P's upper triangle); its
    // references take column-major data.
    const Eigen::MatrixXd P = qp.P;
    const Eigen::MatrixXd A = p > 0 ? Eigen::MatrixXd(qp.A) : Eigen::MatrixXd(0, n);
    Eigen::MatrixXd G(k, n);
    Vector h(k);
    for (Index r = 0; r < k; ++r) {
      G.row(r) = qp.C.row(kept[static_cast<std::size_t>(r)]);
      h[r] = qp.d[kept[static_cast<std::size_t>(r)]];
    }
    const Vector c = qp.q, b = qp.b;
    using DenseRef = piqp::CMatRef<double>;
    using VectorRef = piqp::CVecRef<double>;

    piqp::DenseSolver<double> solver;
    apply_settings(solver, settings);
    solver.setup(P, c,
                 p > 0 ? piqp::optional<DenseRef>(A) : piqp::nullopt,
                 p > 0 ? piqp::optional<VectorRef>(b) : piqp::nullopt,
                 k > 0 ? piqp::optional<DenseRef>(G) : piqp::nullopt,
                 piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h) : piqp::nullopt);
    return collect(solver, m, kept);
  }

  PrimalDual solve(const SparseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const Index m = qp.m(), p = qp.p();
    const std::vector<Index> kept = bounded_rows(qp.d);
    const auto k = static_cast<Index>(kept.size());
    // PIQP reads P's upper triangle from the full matrix dqp passes.
    SparseMatrix G;
    Vector h(k);
    if (k == m) {
      if (m > 0) G = qp.C;
      h = qp.d;
    } else {
      // The kept rows, by a selection matrix S (k × m): G = S C.
      SparseMatrix S(k, m);
      std::vector<Eigen::Triplet<double, Index>> ones;
      for (Index r = 0; r < k; ++r) {
        ones.emplace_back(r, kept[static_cast<std::size_t>(r)], 1.0);
        h[r] = qp.d[kept[static_cast<std::size_t>(r)]];
      }
      S.setFromTriplets(ones.begin(), ones.end());
      if (k > 0) G = S * qp.C;
    }
    using SparseRef = piqp::CSparseMatRef<double, Index>;
    using VectorRef = piqp::CVecRef<double>;

    piqp::SparseSolver<double, Index> solver;
    apply_settings(solver, settings);
    solver.setup(SparseRef(qp.P), qp.q,
                 p > 0 ? piqp::optional<SparseRef>(qp.A) : piqp::nullopt,
                 p > 0 ? piqp::optional<VectorRef>(qp.b) : piqp::nullopt,
                 k > 0 ? piqp::optional<SparseRef>(G) : piqp::nullopt,
                 piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h) : piqp::nullopt);
    return collect(solver, m, kept);
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_piqp() { return std::make_unique<PIQP>(); }

}  // namespace dqp::solvers
