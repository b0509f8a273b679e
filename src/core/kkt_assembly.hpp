// Assembling, factoring and checking the reduced KKT system; shared by the
// forward pass (polish, dual recovery) and the backward pass (its fallback).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <stdexcept>
#include <tuple>
#include <string>
#include <vector>

#include "dqp/kkt_solver.hpp"
#include "dqp/problem.hpp"
#include "dqp/settings.hpp"
#include "../kkt/condition_estimate.hpp"
#include "../kkt/singleton_elimination.hpp"
#include "problem_ops.hpp"
#include "reduced_kkt.hpp"

namespace dqp::core {

inline bool is_sparse(const DenseProblem&) { return false; }
inline bool is_sparse(const SparseProblem&) { return true; }

// The linear solvers to try, in order: the requested one, then more robust
// ones, ending with a least-squares solver for singular K. Dense "auto"
// starts with the Schur complement (two Cholesky factorizations, about a
// third of LU's flops when P is positive definite: the active-set step of
// an n = 50 problem of the batch benchmark takes 35 µs against 48); it
// refuses a semidefinite P or a solve that refinement cannot make accurate,
// and LU takes over.
// With `strict` (Settings::strict_linear_solver) the chain is the requested
// solver alone.
inline std::vector<std::string> build_factorization_chain(const std::string& requested,
                                                          bool sparse, bool strict) {
  const std::string name = resolve_linear_solver_name(requested);
  const std::string first = name != "auto" ? name : sparse ? "sparse_ldlt" : "schur_llt";
  const LinearSolverInfo info = make_linear_solver(first)->info();
  if (!(sparse ? info.sparse : info.dense))
    throw std::invalid_argument("lin_solver '" + requested + "' does not take " +
                                (sparse ? "sparse" : "dense") + " problems");
  // Then more robust ones: pivoted LU, then least squares for a singular K.
  // Sparse: SuiteSparse's KLU and SPQR when built in; Eigen's SparseLU and
  // SparseQR are orders of magnitude slower on large saddle-point systems
  // (22 s against PIQP's 0.03 s for the least squares of Maros-Meszaros AUG3DQP).
  std::vector<std::string> chain = {first};
  if (info.least_squares || strict) return chain;
  auto built_in = [](const std::string& solver) {
    for (const LinearSolverInfo& known : linear_solvers())
      if (known.name == solver) return true;
    return false;
  };
  std::vector<std::string> fallbacks;
  if (sparse) {
    if (built_in("klu")) fallbacks.push_back("klu");
    fallbacks.push_back("sparse_lu");
    fallbacks.push_back(built_in("spqr") ? "spqr" : "sparse_qr");
  } else {
    fallbacks = {"lu", "cod"};
  }
  for (const std::string& next : fallbacks)
    if (first != next) chain.push_back(next);
  return chain;
}

// The chain depends only on the setting and the storage, but building it
// consults the registries (a microsecond, on every factorization of a tiny
// problem): built once per (setting, storage) and kept. An unknown name
// throws and is not kept.
inline const std::vector<std::string>& factorization_chain(const std::string& requested,
                                                           bool sparse, bool strict) {
  using Key = std::tuple<std::string, bool, bool>;
  static std::mutex mutex;
  static std::map<Key, std::vector<std::string>> chains;
  std::lock_guard<std::mutex> lock(mutex);
  const Key key{requested, sparse, strict};
  auto it = chains.find(key);
  if (it == chains.end())
    it = chains.emplace(key, build_factorization_chain(requested, sparse, strict)).first;
  return it->second;
}

// K x for the unscaled K = [[P, Ãᵀ], [Ã, 0]].
template <class Problem>
Vector kkt_times(const Problem& qp, const std::vector<Index>& active, const Vector& x) {
  const Index n = qp.n(), p = qp.p(), k = static_cast<Index>(active.size());
  Vector mu_full = Vector::Zero(qp.m());
  for (Index i = 0; i < k; ++i) mu_full[active[i]] = x[n + p + i];
  const Vector z = x.head(n);
  Vector out(n + p + k);
  out.head(n) = qp.P * z + qp.C.transpose() * mu_full;
  if (p > 0) {
    out.head(n) += qp.A.transpose() * x.segment(n, p);
    out.segment(n, p) = qp.A * z;
  }
  if (k > 0) {
    const Vector Cz = qp.C * z;
    for (Index i = 0; i < k; ++i) out[n + p + i] = Cz[active[i]];
  }
  return out;
}

// The product with the factored K, for refinement; K is moved into it.
template <class Matrix>
KKTProduct kkt_product(Matrix& K) {
  auto matrix = std::make_shared<Matrix>(std::move(K));
  KKTProduct product;
  // K is symmetric: its largest column sum is ‖K‖∞.
  for (Index j = 0; j < matrix->cols(); ++j)
    product.norm = std::max(product.norm, matrix->col(j).cwiseAbs().sum());
  product.times = [matrix](const Vector& x) -> Vector { return *matrix * x; };
  return product;
}

// A regular factorization is kept only when K is not numerically singular
// (condition_estimate.hpp; the pivoted LU and LDLᵀ estimate it themselves):
// a K singular to working precision, whatever its pivots, goes straight to
// the chain's least-squares solver, whose minimum-norm solution drops the
// directions below the same threshold; its regular solvers would only
// factor the same matrix again.
template <class Matrix>
bool well_conditioned(const Matrix& K, const KKTFactorization& factor) {
  return factor.checks_condition() || !kkt::numerically_singular(K, factor);
}

template <class Problem>
std::shared_ptr<ReducedKKT> factor_reduced_kkt(const Problem& qp, const std::vector<Index>& active,
                                               const Vector& scale, const Settings& settings,
                                               bool force_least_squares) {
  auto K = assemble_kkt(qp, active, scale);
  const std::vector<std::string>& chain =
      factorization_chain(settings.lin_solver, is_sparse(qp), settings.strict_linear_solver);
  bool singular = force_least_squares;
  if (!singular) {
    kkt::EliminatedFactorization eliminated =
        kkt::factor_with_bounds_eliminated(K, qp.n(), chain);
    if (eliminated.factorization) {
      if (well_conditioned(K, *eliminated.factorization))
        return std::make_shared<ReducedKKT>(qp.n(), qp.p(), active, scale,
                                            std::move(eliminated.factorization),
                                            eliminated.solver, false, kkt_product(K));
      singular = true;
    }
  }
  // Each solver of the chain in turn; a regular one that factors K but finds
  // it numerically singular hands over to the last, least-squares, one.
  auto attempt = [&](const std::string& name) -> std::shared_ptr<ReducedKKT> {
    const auto solver = make_linear_solver(name);
    auto factor = solver->factorize_kkt(K, qp.n());
    if (!factor) return nullptr;
    const bool least_squares = solver->info().least_squares;
    if (!least_squares && !well_conditioned(K, *factor)) {
      singular = true;
      return nullptr;
    }
    return std::make_shared<ReducedKKT>(qp.n(), qp.p(), active, scale, std::move(factor), name,
                                        least_squares, kkt_product(K));
  };
  for (std::size_t i = 0; i < chain.size() && !singular; ++i)
    if (auto kkt = attempt(chain[i])) return kkt;
  if (singular && make_linear_solver(chain.back())->info().least_squares)
    if (auto kkt = attempt(chain.back())) return kkt;
  if (settings.strict_linear_solver)
    throw std::runtime_error("lin_solver '" + chain.front() +
                             "' could not factor the reduced KKT system" +
                             (singular ? " (it is numerically singular)" : "") +
                             " and strict_linear_solver is on (turn it off to let more robust "
                             "solvers take over)");
  throw std::runtime_error("every linear solver failed on the reduced KKT system");
}

// Does K x = rhs hold to working accuracy? A factorization that passed its
// own singularity test can still be too ill-conditioned to trust.
template <class Problem>
bool solves_accurately(const Problem& qp, const std::vector<Index>& active, const Vector& x,
                       const Vector& rhs) {
  if (!x.allFinite()) return false;
  const Vector Kx = kkt_times(qp, active, x);
  const double scale = 1.0 + rhs.cwiseAbs().maxCoeff() + Kx.cwiseAbs().maxCoeff();
  return (Kx - rhs).cwiseAbs().maxCoeff() <= 1e-9 * scale;
}

}  // namespace dqp::core
