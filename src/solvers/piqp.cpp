// PIQP (proximal interior point; header-only C++/Eigen from its PyPI sdist),
// dense and sparse backends.
//
// PIQP solves  min ½ xᵀP x + cᵀx  s.t.  A x = b,  h_l ≤ G x ≤ h_u,  x_l ≤ x ≤ x_u
// and its stationarity is  P x + c + Aᵀy + Gᵀ(z_u - z_l) - z_bl + z_bu = 0
// with z_l, z_u, z_bl, z_bu ≥ 0. dqp's A z = b is PIQP's, so lam = y. dqp's
// C z ≤ d is given to PIQP in the form it handles best (see split_rows):
// * a row with one nonzero, c z_j ≤ d_i, is the bound z_j ≤ d_i / c (c > 0,
//   mu_i = z_bu_j / c) or z_j ≥ d_i / c (c < 0, mu_i = z_bl_j / -c): bounds
//   need no slack rows and PIQP's equilibration leaves them alone;
// * a row and its exact negation are one two-sided row of G: C_i = G_g gives
//   mu_i = z_u_g, C_i = -G_g gives mu_i = z_l_g. Maros-Meszaros' l ≤ a z ≤ u
//   reaches dqp as a z ≤ u and -a z ≤ -l; kept apart, PIQP needs 1070
//   iterations on STADAT1 instead of 47 and diverges on QPILOTNO;
// * of several rows along one direction and side, the tightest is kept; the
//   others are implied, not active unless tied, and get mu = 0;
// * rows with d_i ≥ PIQP_INF (1e30) are absent to PIQP, which would zero them
//   with a warning on stderr: they are left out, with mu = 0.
//
// Not taken from dqp's settings:
// * warm starts: PIQP's solve() always starts from its own initial point;
// * time_limit: PIQP 0.7 has no wall-time limit and no callback to stop it.
#include <piqp/piqp.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "adapters.hpp"

namespace dqp::solvers {
namespace {

// Relative tolerances under dqp's eps_rel. dqp's eps_rel = 0 asks for
// absolute tests only, which PIQP cannot meet once eps_abs is below the
// rounding of the problem's terms (Maros-Meszaros objectives reach 1e6 to
// 1e11): it then runs to max_iter. PIQP stops when the absolute OR the
// relative test passes.
// * Residuals: 1e-10 relative, about what PIQP attains (CVXQP3_M stalls at
//   8e-10 absolute, 1e-13 relative).
// * Duality gap: eps_abs / 1000 relative (1e-9, PIQP's own default, at dqp's
//   eps_abs = 1e-6), at least 1e-12. A fixed floor would stop the forward
//   pass's tightened re-solves (eps_abs / 100, / 10^4) at the point the first
//   solve found, where the active set was not clear (QISRAEL: active slacks
//   at 2e-5); this one tightens with them.
// On the 105 Maros-Meszaros problems with n ≤ 5000 (1000 iterations
// allowed), absolute tests alone leave 3 unsolved at eps_abs = 1e-6 and 15 at
// 1e-10; with these floors 0 and 1 (STADAT1).
constexpr double kResidualFloor = 1e-10;
constexpr double kDualityGapPerEpsAbs = 1e-3;
constexpr double kDualityGapFloor = 1e-12;

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
  // dqp allows eps_abs = 0 (relative test only); PIQP requires eps_abs > 0.
  const double eps_abs = std::max(settings.eps_abs, std::numeric_limits<double>::epsilon());
  s.eps_abs = eps_abs;
  s.eps_rel = std::max(settings.eps_rel, kResidualFloor);
  s.eps_duality_gap_abs = eps_abs;
  s.eps_duality_gap_rel =
      std::max(settings.eps_rel, std::max(kDualityGapPerEpsAbs * settings.eps_abs, kDualityGapFloor));
  s.max_iter = settings.max_iter;
  s.verbose = settings.verbose;
}

// The rows of C in PIQP's form. Rows are grouped by direction: a row and its
// negation (the l ≤ a z ≤ u of Maros-Meszaros, given to dqp as a z ≤ u and
// -a z ≤ -l) are one two-sided row of G, and a row with one nonzero is a
// bound. In a group, the tightest row on each side is kept (its "owner");
// looser rows on the same side are implied and get mu = 0.
struct RowSplit {
  std::vector<Index> rep;        // per row g of G: a row of C along it
  std::vector<double> rep_sign;  // G_g = rep_sign * C_rep, its first nonzero positive
  std::vector<double> h_l, h_u;  // ±infinity where no row bounds that side
  std::vector<Index> lower_owner, upper_owner;
  Vector x_l, x_u;
  std::vector<Index> x_lower_owner, x_upper_owner;  // per variable
  std::vector<double> x_lower_coef, x_upper_coef;   // the owner's coefficient
};

// Rows of C as (column, value) lists of their nonzeros, columns ascending.
struct Rows {
  std::vector<Index> start{0}, col;
  std::vector<double> value;
  Index size(Index i) const { return start[i + 1] - start[i]; }
};

Rows rows_of(const DenseProblem& qp) {
  Rows rows;
  const Index m = qp.C.rows() == qp.m() ? qp.m() : 0;
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < qp.n(); ++j)
      if (qp.C(i, j) != 0.0) {
        rows.col.push_back(j);
        rows.value.push_back(qp.C(i, j));
      }
    rows.start.push_back(static_cast<Index>(rows.col.size()));
  }
  return rows;
}

Rows rows_of(const SparseProblem& qp) {
  Rows rows;
  if (qp.C.rows() != qp.m()) return rows;
  const Eigen::SparseMatrix<double, Eigen::RowMajor, Index> C = qp.C;
  for (Index i = 0; i < C.rows(); ++i) {
    for (Eigen::SparseMatrix<double, Eigen::RowMajor, Index>::InnerIterator it(C, i); it; ++it)
      if (it.value() != 0.0) {
        rows.col.push_back(it.col());
        rows.value.push_back(it.value());
      }
    rows.start.push_back(static_cast<Index>(rows.col.size()));
  }
  return rows;
}

RowSplit split_rows(const Rows& rows, const VectorView& d, Index n) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  RowSplit split;
  split.x_l = Vector::Constant(n, -inf);
  split.x_u = Vector::Constant(n, inf);
  const auto vars = static_cast<std::size_t>(n);
  split.x_lower_owner.assign(vars, -1);
  split.x_upper_owner.assign(vars, -1);
  split.x_lower_coef.assign(vars, 0.0);
  split.x_upper_coef.assign(vars, 0.0);

  // Row i with its first nonzero made positive: sign(i) * C_i.
  auto sign = [&](Index i) { return rows.size(i) > 0 && rows.value[rows.start[i]] < 0 ? -1.0 : 1.0; };
  auto same_direction = [&](Index i, Index k) {
    if (rows.size(i) != rows.size(k)) return false;
    const double si = sign(i), sk = sign(k);
    for (Index a = rows.start[i], b = rows.start[k]; a < rows.start[i + 1]; ++a, ++b)
      if (rows.col[a] != rows.col[b] || si * rows.value[a] != sk * rows.value[b]) return false;
    return true;
  };
  auto hash = [&](Index i) {
    const double si = sign(i);
    std::size_t h = std::hash<Index>()(rows.size(i));
    for (Index a = rows.start[i]; a < rows.start[i + 1]; ++a) {
      h = h * 1000003u ^ std::hash<Index>()(rows.col[a]);
      h = h * 1000003u ^ std::hash<double>()(si * rows.value[a]);
    }
    return h;
  };

  std::unordered_map<std::size_t, std::vector<Index>> groups;  // hash -> rows of G
  for (Index i = 0; i < d.size(); ++i) {
    if (d[i] >= PIQP_INF) continue;
    if (rows.size(i) == 1) {
      const Index a = rows.start[i];
      const auto j = static_cast<std::size_t>(rows.col[a]);
      const double c = rows.value[a], bound = d[i] / c;
      if (c > 0 && bound < split.x_u[rows.col[a]]) {
        split.x_u[rows.col[a]] = bound;
        split.x_upper_owner[j] = i;
        split.x_upper_coef[j] = c;
      } else if (c < 0 && bound > split.x_l[rows.col[a]]) {
        split.x_l[rows.col[a]] = bound;
        split.x_lower_owner[j] = i;
        split.x_lower_coef[j] = c;
      }
      continue;
    }
    std::vector<Index>& bucket = groups[hash(i)];
    auto found = std::find_if(bucket.begin(), bucket.end(), [&](Index g) {
      return same_direction(i, split.rep[static_cast<std::size_t>(g)]);
    });
    std::size_t g;
    if (found == bucket.end()) {
      g = split.rep.size();
      bucket.push_back(static_cast<Index>(g));
      split.rep.push_back(i);
      split.rep_sign.push_back(sign(i));
      split.h_l.push_back(-inf);
      split.h_u.push_back(inf);
      split.lower_owner.push_back(-1);
      split.upper_owner.push_back(-1);
    } else {
      g = static_cast<std::size_t>(*found);
    }
    // G_g is the row with its first nonzero positive: C_i = sign(i) G_g, so
    // C_i z ≤ d_i is G_g z ≤ d_i or G_g z ≥ -d_i.
    if (sign(i) > 0) {
      if (d[i] < split.h_u[g]) {
        split.h_u[g] = d[i];
        split.upper_owner[g] = i;
      }
    } else if (-d[i] > split.h_l[g]) {
      split.h_l[g] = -d[i];
      split.lower_owner[g] = i;
    }
  }
  return split;
}

template <class Solver>
PrimalDual collect(Solver& solver, Index m, const RowSplit& split) {
  const piqp::Status status = solver.solve();
  const piqp::Result<double>& result = solver.result();
  PrimalDual out;
  out.status = map_status(status);
  out.z = result.x;
  out.lam = result.y;
  out.mu = Vector::Zero(m);
  for (std::size_t g = 0; g < split.rep.size(); ++g) {
    const auto row = static_cast<Index>(g);
    if (split.upper_owner[g] >= 0) out.mu[split.upper_owner[g]] = result.z_u[row];
    if (split.lower_owner[g] >= 0) out.mu[split.lower_owner[g]] = result.z_l[row];
  }
  for (std::size_t j = 0; j < split.x_upper_owner.size(); ++j) {
    const auto v = static_cast<Index>(j);
    if (split.x_upper_owner[j] >= 0) out.mu[split.x_upper_owner[j]] = result.z_bu[v] / split.x_upper_coef[j];
    if (split.x_lower_owner[j] >= 0) out.mu[split.x_lower_owner[j]] = -result.z_bl[v] / split.x_lower_coef[j];
  }
  out.has_duals = true;
  out.iterations = static_cast<int>(result.info.iter);
  return out;
}

// The split's vectors, as PIQP's optional arguments.
struct Bounds {
  Vector h_l, h_u;
  explicit Bounds(const RowSplit& split)
      : h_l(Eigen::Map<const Vector>(split.h_l.data(), static_cast<Index>(split.h_l.size()))),
        h_u(Eigen::Map<const Vector>(split.h_u.data(), static_cast<Index>(split.h_u.size()))) {}
};

class PIQP final : public QPSolver {
 public:
  SolverInfo info() const override { return {"piqp", true, true, true, false}; }

  PrimalDual solve(const DenseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const Index n = qp.n(), p = qp.p();
    const RowSplit split = split_rows(rows_of(qp), qp.d, n);
    const auto k = static_cast<Index>(split.rep.size());
    // PIQP keeps column-major copies (of Aᵀ, Gᵀ and P's upper triangle); its
    // references take column-major data.
    const Eigen::MatrixXd P = qp.P;
    const Eigen::MatrixXd A = p > 0 ? Eigen::MatrixXd(qp.A) : Eigen::MatrixXd(0, n);
    Eigen::MatrixXd G(k, n);
    for (Index g = 0; g < k; ++g) {
      const auto r = static_cast<std::size_t>(g);
      G.row(g) = split.rep_sign[r] * qp.C.row(split.rep[r]);
    }
    const Vector c = qp.q, b = qp.b;
    const Bounds h(split);
    using DenseRef = piqp::CMatRef<double>;
    using VectorRef = piqp::CVecRef<double>;

    piqp::DenseSolver<double> solver;
    apply_settings(solver, settings);
    solver.setup(P, c,
                 p > 0 ? piqp::optional<DenseRef>(A) : piqp::nullopt,
                 p > 0 ? piqp::optional<VectorRef>(b) : piqp::nullopt,
                 k > 0 ? piqp::optional<DenseRef>(G) : piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h.h_l) : piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h.h_u) : piqp::nullopt,
                 piqp::optional<VectorRef>(split.x_l), piqp::optional<VectorRef>(split.x_u));
    return collect(solver, qp.m(), split);
  }

  PrimalDual solve(const SparseProblem& qp, const Settings& settings,
                   const PrimalDual*) const override {
    const Index n = qp.n(), m = qp.m(), p = qp.p();
    const RowSplit split = split_rows(rows_of(qp), qp.d, n);
    const auto k = static_cast<Index>(split.rep.size());
    // G = S C with S (k × m) picking and signing the representative rows.
    SparseMatrix G;
    if (k > 0) {
      SparseMatrix S(k, m);
      std::vector<Eigen::Triplet<double, Index>> entries;
      for (Index g = 0; g < k; ++g) {
        const auto r = static_cast<std::size_t>(g);
        entries.emplace_back(g, split.rep[r], split.rep_sign[r]);
      }
      S.setFromTriplets(entries.begin(), entries.end());
      G = S * qp.C;
    }
    const Bounds h(split);
    using SparseRef = piqp::CSparseMatRef<double, Index>;
    using VectorRef = piqp::CVecRef<double>;

    // PIQP reads P's upper triangle from the full matrix dqp passes.
    piqp::SparseSolver<double, Index> solver;
    apply_settings(solver, settings);
    solver.setup(SparseRef(qp.P), qp.q,
                 p > 0 ? piqp::optional<SparseRef>(qp.A) : piqp::nullopt,
                 p > 0 ? piqp::optional<VectorRef>(qp.b) : piqp::nullopt,
                 k > 0 ? piqp::optional<SparseRef>(G) : piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h.h_l) : piqp::nullopt,
                 k > 0 ? piqp::optional<VectorRef>(h.h_u) : piqp::nullopt,
                 piqp::optional<VectorRef>(split.x_l), piqp::optional<VectorRef>(split.x_u));
    return collect(solver, m, split);
  }
};

}  // namespace

std::unique_ptr<QPSolver> make_piqp() { return std::make_unique<PIQP>(); }

}  // namespace dqp::solvers
