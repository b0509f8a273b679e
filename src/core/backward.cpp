// Layer::backward: one solve with the factored reduced KKT system, then the
// gradient formulas of DESIGN.md:
//   K w = [dz; dlam; dmu_J],  (δz, δλ, δμ) = -w,
//   ∇P = ½(δz zᵀ + z δzᵀ), ∇q = δz, ∇A = δλ zᵀ + λ δzᵀ, ∇b = -δλ,
//   ∇C_J = δμ zᵀ + μ_J δzᵀ, ∇d_J = -δμ, and zero on inactive rows.
#include <stdexcept>
#include <string>

#include "dqp/layer.hpp"
#include "kkt_assembly.hpp"
#include "reduced_kkt.hpp"

namespace dqp {
namespace {

// Data spanning hundreds of orders of magnitude (found by the fuzzer: entries
// of 1e181 beside 1e-236) can overflow the gradient products. Say so rather
// than return Inf or NaN.
template <class Gradients>
const Gradients& checked(const Gradients& g) {
  if (!(g.P.allFinite() && g.C.allFinite() && g.A.allFinite() && g.q.allFinite() &&
        g.d.allFinite() && g.b.allFinite()))
    throw std::overflow_error(
        "backward: the gradients overflow double precision; the problem's data span too many "
        "orders of magnitude - rescale it");
  return g;
}

struct Adjoint {
  Vector dz, dlam, dmu_active;
};

void check_size(const VectorRef& v, Index expected, const char* name, bool optional) {
  if (optional && v.size() == 0) return;
  if (v.size() != expected)
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(expected) +
                                " entries, got " + std::to_string(v.size()));
}

template <class Problem>
Adjoint solve_adjoint(const Problem& qp, std::uint64_t given_fingerprint, const Solution& solution,
                      const Settings& settings,
                      const VectorRef& dz, const VectorRef& dlam, const VectorRef& dmu) {
  if (!solution.differentiable())
    throw std::invalid_argument(std::string("cannot differentiate a solution with status '") +
                                to_string(solution.status) +
                                "': only optimal solutions have a derivative");
  const ReducedKKT& kkt = *solution.kkt;
  const Index n = qp.n(), p = qp.p();
  if (kkt.n() != n || kkt.p() != p || solution.mu.size() != qp.m())
    throw std::invalid_argument("the solution does not belong to this problem (sizes differ)");
  // Solutions made by forward carry the fingerprint of their problem.
  if (solution.problem_fingerprint != 0 && solution.problem_fingerprint != given_fingerprint)
    throw std::invalid_argument(
        "the solution does not belong to this problem: its data differ from those given to "
        "forward (pass backward the same problem, unchanged)");
  check_size(dz, n, "dz", false);
  check_size(dlam, p, "dlam", true);
  check_size(dmu, qp.m(), "dmu", true);
  if (!dz.allFinite() || (dlam.size() && !dlam.allFinite()) || (dmu.size() && !dmu.allFinite()))
    throw std::invalid_argument("the incoming gradients contain NaN or Inf");

  const auto& active = kkt.active();
  const Index k = static_cast<Index>(active.size());
  Vector rhs = Vector::Zero(kkt.size());
  rhs.head(n) = dz;
  if (dlam.size()) rhs.segment(n, p) = dlam;
  if (dmu.size())
    for (Index i = 0; i < k; ++i) rhs[n + p + i] = dmu[active[i]];
  Vector w = kkt.solve(rhs);
  // A factorization can pass its own singularity test and the forward solve's
  // check (a consistent right-hand side) yet fail here: fall back to least
  // squares rather than return Inf or NaN.
  if (!kkt.least_squares() && !core::solves_accurately(qp, active, w, rhs))
    w = core::factor_reduced_kkt(qp, active, kkt.row_scale(), settings, true)->solve(rhs);
  return {-w.head(n), -w.segment(n, p), -w.tail(k)};
}

}  // namespace

DenseGradients Layer::backward(const DenseProblem& given, const Solution& solution,
                               const VectorRef& dz, const VectorRef& dlam, const VectorRef& dmu,
                               const GradientSelection& wanted) const {
  const core::FullWidth full(given);
  const DenseProblem& qp = full.dense();
  const Adjoint adj = solve_adjoint(qp, fingerprint(given), solution, settings_, dz, dlam, dmu);
  const Vector& z = solution.z;
  const Index n = qp.n(), m = qp.m();
  DenseGradients g;
  if (wanted.P) g.P = 0.5 * (adj.dz * z.transpose() + z * adj.dz.transpose());
  if (wanted.q) g.q = adj.dz;
  if (wanted.A) {
    g.A = adj.dlam * z.transpose() + solution.lam * adj.dz.transpose();
    if (qp.p() == 0) g.A.resize(0, n);
  }
  if (wanted.b) g.b = -adj.dlam;
  if (wanted.C) g.C = RowMatrix::Zero(m, n);
  if (wanted.d) g.d = Vector::Zero(m);
  const auto& active = solution.kkt->active();
  for (std::size_t i = 0; i < active.size(); ++i) {
    const Index row = active[i];
    if (wanted.C)
      g.C.row(row) = adj.dmu_active[i] * z.transpose() + solution.mu[row] * adj.dz.transpose();
    if (wanted.d) g.d[row] = -adj.dmu_active[i];
  }
  return checked(g);
}

SparseGradients Layer::backward(const SparseProblem& given, const Solution& solution,
                                const VectorRef& dz, const VectorRef& dlam, const VectorRef& dmu,
                                const GradientSelection& wanted) const {
  const core::FullWidth full(given);
  const SparseProblem& qp = full.sparse();
  const Adjoint adj = solve_adjoint(qp, fingerprint(given), solution, settings_, dz, dlam, dmu);
  const Vector& z = solution.z;
  SparseGradients g;
  if (wanted.q) g.q = adj.dz;
  if (wanted.b) g.b = -adj.dlam;

  // Values in the input's own storage order: entry k of the CSC arrays.
  if (wanted.P) {
    g.P.resize(qp.P.nonZeros());
    for (Index j = 0, k = 0; j < qp.P.outerSize(); ++j)
      for (SparseView::InnerIterator it(qp.P, j); it; ++it, ++k)
        g.P[k] = 0.5 * (adj.dz[it.row()] * z[j] + z[it.row()] * adj.dz[j]);
  }
  if (wanted.A) {
    g.A.resize(qp.A.nonZeros());
    for (Index j = 0, k = 0; j < qp.A.outerSize(); ++j)
      for (SparseView::InnerIterator it(qp.A, j); it; ++it, ++k)
        g.A[k] = adj.dlam[it.row()] * z[j] + solution.lam[it.row()] * adj.dz[j];
  }

  std::vector<Index> position(qp.m(), -1);
  const auto& active = solution.kkt->active();
  if (wanted.d) g.d = Vector::Zero(qp.m());
  for (std::size_t i = 0; i < active.size(); ++i) {
    position[active[i]] = static_cast<Index>(i);
    if (wanted.d) g.d[active[i]] = -adj.dmu_active[i];
  }
  if (wanted.C) {
    g.C.resize(qp.C.nonZeros());
    for (Index j = 0, k = 0; j < qp.C.outerSize(); ++j)
      for (SparseView::InnerIterator it(qp.C, j); it; ++it, ++k) {
        const Index pos = position[it.row()];
        g.C[k] = pos < 0 ? 0.0 : adj.dmu_active[pos] * z[j] + solution.mu[it.row()] * adj.dz[j];
      }
  }
  return checked(g);
}

}  // namespace dqp
