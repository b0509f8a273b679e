// Layer::forward: solve, choose the active set, factor the reduced KKT system,
// polish or recover the duals.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "active_set.hpp"
#include "dqp/batch.hpp"
#include "dqp/layer.hpp"
#include "problem_ops.hpp"
#include "kkt_assembly.hpp"
#include "reduced_kkt.hpp"

namespace dqp {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// 1 / row norm, or 1 for rows below the floor (and everywhere when off).
Vector row_scale(const Vector& norms, const Settings& settings) {
  if (!settings.normalize_constraints) return Vector::Ones(norms.size());
  return norms.unaryExpr([&](double norm) { return norm < settings.normalize_floor ? 1.0 : 1.0 / norm; });
}

template <class Problem>
double kkt_residual(const Problem& qp, const Vector& z, const Vector& lam, const Vector& mu) {
  double worst = 0.0;
  Vector stationarity = qp.P * z + qp.q;
  if (qp.m() > 0) {
    stationarity += qp.C.transpose() * mu;
    const Vector slack = qp.d - qp.C * z;
    worst = std::max(worst, (-slack).cwiseMax(0.0).maxCoeff());
    worst = std::max(worst, (mu.array() * slack.array()).abs().maxCoeff());
    worst = std::max(worst, (-mu).cwiseMax(0.0).maxCoeff());
  }
  if (qp.p() > 0) {
    stationarity += qp.A.transpose() * lam;
    worst = std::max(worst, (qp.A * z - qp.b).cwiseAbs().maxCoeff());
  }
  return std::max(worst, stationarity.cwiseAbs().maxCoeff());
}

template <class Problem>
Solution finish(const Problem& qp, const Settings& settings, PrimalDual point,
                const Vector& scale_C, const Vector& scale_A, Clock::time_point start,
                FactorCache* cache) {
  Solution solution;
  solution.status = point.status;
  solution.iterations = point.iterations;
  solution.z = std::move(point.z);
  const Index n = qp.n(), m = qp.m(), p = qp.p();
  if (!is_optimal(solution.status)) {
    solution.lam = point.has_duals ? point.lam : Vector::Constant(p, NAN);
    solution.mu = point.has_duals ? point.mu : Vector::Constant(m, NAN);
    solution.timings.total = seconds_since(start);
    return solution;
  }
  const auto active_start = Clock::now();

  const Vector residual = ((qp.d - qp.C * solution.z).array() * scale_C.array()).matrix();
  std::vector<Index> active = core::active_rows(residual, settings.eps_active);
  if (settings.refine_active)
    active = core::refine_active_rows(qp, solution.z, residual, std::move(active), settings);
  const Index k = static_cast<Index>(active.size());
  if (p + k > n) solution.degeneracy |= kTooManyActive;

  Vector scale(p + k);
  scale.head(p) = scale_A;
  for (Index i = 0; i < k; ++i) scale[p + i] = scale_C[active[i]];
  // With more active rows than variables K is singular: go to least squares.
  const bool singular = p + k > n;
  std::shared_ptr<const ReducedKKT> kkt = cache ? cache->find(active) : nullptr;
  if (!kkt) kkt = core::factor_reduced_kkt(qp, active, scale, settings, singular);
  Vector rhs(n + p + k);
  rhs.head(n) = -qp.q;
  rhs.segment(n, p) = qp.b;
  for (Index i = 0; i < k; ++i) rhs[n + p + i] = qp.d[active[i]];
  Vector x = kkt->solve(rhs);
  if (!kkt->least_squares() && !core::solves_accurately(qp, active, x, rhs)) {
    kkt = core::factor_reduced_kkt(qp, active, scale, settings, true);
    x = kkt->solve(rhs);
  }
  if (cache) cache->insert(active, kkt);
  // Singular: every regular factorization failed, or a rank-revealing one says so.
  const std::string requested =
      core::factorization_chain(settings.lin_solver, core::is_sparse(qp)).front();
  if (singular || kkt->rank_deficient() ||
      (kkt->least_squares() && kkt->solver_name() != requested))
    solution.degeneracy |= kSingularKKT;

  const bool need_duals = !point.has_duals || !settings.dual_available;
  Vector lam = point.has_duals ? point.lam : Vector::Zero(p);
  Vector mu_active(k);
  for (Index i = 0; i < k; ++i) mu_active[i] = point.has_duals ? point.mu[active[i]] : 0.0;

  // Accept the reduced-KKT point only if it satisfies the full KKT conditions:
  // then it is optimal, whatever its distance to the solver's point.
  if (settings.polish || need_duals) {
    const Vector z_kkt = x.head(n);
    const Vector mu_kkt = x.tail(k);
    const double tolerance = std::max(settings.eps_abs, 1e-9);
    bool acceptable = x.allFinite() && (kkt->least_squares() ? core::solves_accurately(qp, active, x, rhs) : true);
    if (acceptable && m > 0) {
      const Vector slack = qp.d - qp.C * z_kkt;
      acceptable = slack.minCoeff() >= -tolerance * (1.0 + qp.d.cwiseAbs().maxCoeff());
    }
    if (acceptable && k > 0)
      acceptable = mu_kkt.minCoeff() >= -tolerance * (1.0 + mu_kkt.cwiseAbs().maxCoeff());
    if (acceptable) {
      solution.z = z_kkt;
      lam = x.segment(n, p);
      mu_active = mu_kkt;
      solution.polished = true;
      solution.duals_recovered = need_duals;
    } else if (need_duals) {
      const auto fit = core::solve_dual_least_squares(qp, active, qp.P * solution.z + qp.q);
      if (fit.y.size() == p + k) {
        lam = fit.y.head(p);
        mu_active = fit.y.tail(k);
      }
      solution.duals_recovered = true;
    }
  }

  solution.lam = lam;
  solution.mu = Vector::Zero(m);
  for (Index i = 0; i < k; ++i) solution.mu[active[i]] = mu_active[i];
  if (k > 0) {
    const double weak = settings.weak_dual_tol * std::max(1.0, mu_active.cwiseAbs().maxCoeff());
    if (mu_active.minCoeff() < weak) solution.degeneracy |= kWeaklyActive;
  }
  solution.active = std::move(active);
  solution.kkt_residual = kkt_residual(qp, solution.z, solution.lam, solution.mu);
  solution.kkt = std::move(kkt);
  solution.timings.active_set = seconds_since(active_start);
  solution.timings.total = seconds_since(start);
  return solution;
}

template <class Problem>
Solution forward_impl(const Problem& qp, const Settings& settings, const QPSolver& solver,
                      const Solution* warm, FactorCache* cache) {
  const auto start = Clock::now();
  validate(qp, settings);
  const Vector scale_C = row_scale(core::row_norms(qp.C), settings);
  const Vector scale_A = row_scale(core::row_norms(qp.A), settings);

  PrimalDual warm_point;
  const PrimalDual* warm_ptr = nullptr;
  if (settings.warm_start && warm != nullptr && warm->z.size() == qp.n() &&
      warm->lam.size() == qp.p() && warm->mu.size() == qp.m() && warm->z.allFinite()) {
    // The solver sees the scaled rows, whose duals are mu / scale.
    warm_point.z = warm->z;
    warm_point.lam = warm->lam.cwiseQuotient(scale_A);
    warm_point.mu = warm->mu.cwiseQuotient(scale_C);
    warm_ptr = &warm_point;
  }

  const auto solve_start = Clock::now();
  PrimalDual point;
  if (settings.normalize_constraints) {
    typename core::StorageOf<Problem>::type scaled;
    scaled.C = core::scale_rows(qp.C, scale_C);
    scaled.A = core::scale_rows(qp.A, scale_A);
    scaled.d = qp.d.cwiseProduct(scale_C);
    scaled.b = qp.b.cwiseProduct(scale_A);
    point = solver.solve(scaled.view(qp), settings, warm_ptr);
    if (point.has_duals) {
      // Row i was divided by its norm, so its dual was multiplied by it.
      point.mu = point.mu.cwiseProduct(scale_C);
      point.lam = point.lam.cwiseProduct(scale_A);
    }
  } else {
    point = solver.solve(qp, settings, warm_ptr);
  }
  const double solve_time = seconds_since(solve_start);
  if (point.z.size() != qp.n()) point.status = Status::NumericalError;
  if (is_optimal(point.status) && !point.z.allFinite()) point.status = Status::NumericalError;
  Solution solution = finish(qp, settings, std::move(point), scale_C, scale_A, start, cache);
  solution.timings.solve = solve_time;
  return solution;
}

template <class Problem>
Solution forward_from_impl(const Problem& qp, const Settings& settings, PrimalDual point) {
  const auto start = Clock::now();
  validate(qp, settings);
  if (point.z.size() != qp.n())
    throw std::invalid_argument("z must have " + std::to_string(qp.n()) + " entries, got " +
                                std::to_string(point.z.size()));
  if (point.has_duals && (point.lam.size() != qp.p() || point.mu.size() != qp.m()))
    throw std::invalid_argument("the duals must have " + std::to_string(qp.p()) + " and " +
                                std::to_string(qp.m()) + " entries");
  if (is_optimal(point.status) && !point.z.allFinite()) point.status = Status::NumericalError;
  const Vector scale_C = row_scale(core::row_norms(qp.C), settings);
  const Vector scale_A = row_scale(core::row_norms(qp.A), settings);
  return finish(qp, settings, std::move(point), scale_C, scale_A, start, nullptr);
}

}  // namespace

Layer::Layer(Settings settings) : settings_(std::move(settings)) {
  settings_.validate();
  resolve_linear_solver_name(settings_.lin_solver);
  solver_ = make_qp_solver(settings_.qp_solver);
}

Layer::Layer(Settings settings, std::shared_ptr<const QPSolver> solver)
    : settings_(std::move(settings)), solver_(std::move(solver)) {
  settings_.validate();
  resolve_linear_solver_name(settings_.lin_solver);
}

const QPSolver& Layer::solver() const {
  if (!solver_)
    throw std::logic_error("this layer has no forward solver: give points through forward_from");
  return *solver_;
}

Solution Layer::forward(const DenseProblem& problem, const Solution* warm,
                       FactorCache* cache) const {
  return forward_impl(problem, settings_, solver(), warm, cache);
}

Solution Layer::forward(const SparseProblem& problem, const Solution* warm,
                       FactorCache* cache) const {
  return forward_impl(problem, settings_, solver(), warm, cache);
}

Solution Layer::forward_from(const DenseProblem& problem, PrimalDual point) const {
  return forward_from_impl(problem, settings_, std::move(point));
}

Solution Layer::forward_from(const SparseProblem& problem, PrimalDual point) const {
  return forward_from_impl(problem, settings_, std::move(point));
}

}  // namespace dqp
