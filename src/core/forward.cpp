// Layer::forward: solve, choose the active set, factor the reduced KKT system,
// polish or recover the duals.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "active_set.hpp"
#include "convexity.hpp"
#include "dqp/batch.hpp"
#include "dqp/layer.hpp"
#include "dqp/storage.hpp"
#include "problem_ops.hpp"
#include "kkt_assembly.hpp"
#include "kkt_residual.hpp"
#include "reduced_kkt.hpp"

namespace dqp {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using core::kkt_residual;

double max_abs(const VectorView& v) { return v.size() > 0 ? v.cwiseAbs().maxCoeff() : 0.0; }

// Largest violation of A z = b and C z <= d.
template <class Problem>
double primal_violation(const Problem& qp, const Vector& z) {
  double worst = 0.0;
  if (qp.m() > 0) worst = std::max(worst, (qp.C * z - qp.d).maxCoeff());
  if (qp.p() > 0) worst = std::max(worst, (qp.A * z - qp.b).cwiseAbs().maxCoeff());
  return worst;
}

// One candidate active set: its factorization, the point of its reduced KKT
// system, and whether that point satisfies the full KKT conditions (then it
// is optimal, whatever its distance to the solver's point).
struct Candidate {
  std::vector<Index> active;
  std::shared_ptr<const ReducedKKT> kkt;
  Vector x;                 // [z; lam; mu_active]
  bool singular = false;
  bool kkt_point = false;
};

template <class Problem>
Candidate try_active_set(const Problem& qp, std::vector<Index> active, const Vector& scale_C,
                         const Vector& scale_A, const Settings& settings, FactorCache* cache) {
  const Index n = qp.n(), m = qp.m(), p = qp.p(), k = static_cast<Index>(active.size());
  Candidate c;
  Vector scale(p + k);
  scale.head(p) = scale_A;
  for (Index i = 0; i < k; ++i) scale[p + i] = scale_C[active[i]];
  // With more active rows than variables K is singular: go to least squares.
  const bool too_many = p + k > n;
  c.kkt = cache ? cache->find(active) : nullptr;
  if (!c.kkt) c.kkt = core::factor_reduced_kkt(qp, active, scale, settings, too_many);
  Vector rhs(n + p + k);
  rhs.head(n) = -qp.q;
  rhs.segment(n, p) = qp.b;
  for (Index i = 0; i < k; ++i) rhs[n + p + i] = qp.d[active[i]];
  c.x = c.kkt->solve(rhs);
  if (!c.kkt->least_squares() && !core::solves_accurately(qp, active, c.x, rhs)) {
    c.kkt = core::factor_reduced_kkt(qp, active, scale, settings, true);
    c.x = c.kkt->solve(rhs);
  }
  if (cache) cache->insert(active, c.kkt);
  // Singular: every regular factorization failed, or a rank-revealing one says so.
  const std::string requested =
      core::factorization_chain(settings.lin_solver, core::is_sparse(qp),
                                settings.strict_linear_solver).front();
  c.singular = too_many || c.kkt->rank_deficient() ||
               (c.kkt->least_squares() && c.kkt->solver_name() != requested);

  const double tolerance = std::max(settings.eps_abs, 1e-9);
  c.kkt_point = c.x.allFinite() &&
                (!c.kkt->least_squares() || core::solves_accurately(qp, active, c.x, rhs));
  if (c.kkt_point && m > 0) {
    const Vector slack = qp.d - qp.C * c.x.head(n);
    c.kkt_point = slack.minCoeff() >= -tolerance * (1.0 + core::finite_max_abs(qp.d));
  }
  if (c.kkt_point && k > 0) {
    const Vector mu = c.x.tail(k);
    c.kkt_point = mu.minCoeff() >= -tolerance * (1.0 + mu.cwiseAbs().maxCoeff());
  }
  c.active = std::move(active);
  return c;
}

// Rows the residual test missed but the solver's duals call active: a loose
// solve can stop with an active row's slack just above eps_active. A row is
// added when its dual is large against the largest dual, or, with
// `dual_over_slack`, also when its dual exceeds its own slack (the
// complementarity pair says "active" more than "inactive").
std::vector<Index> add_rows_with_duals(std::vector<Index> active, const Vector& mu,
                                       const Vector& slack, const Settings& settings,
                                       bool dual_over_slack) {
  if (mu.size() == 0) return active;
  // Duals below the floor are solver noise; a loose tolerance must not make
  // the floor itself large (eps_abs = 0.1 gave 10 and threw away three
  // active rows with duals 2: fuzz_layer, OSQP).
  const double floor = 100.0 * std::clamp(settings.eps_abs, 1e-12, 1e-3);
  const double threshold = floor * std::max(1.0, mu.cwiseAbs().maxCoeff());
  std::vector<bool> in(mu.size(), false);
  for (Index i : active) in[i] = true;
  for (Index i = 0; i < mu.size(); ++i)
    if (!in[i] && (mu[i] > threshold || (dual_over_slack && mu[i] > floor && mu[i] > slack[i])))
      active.push_back(i);
  std::sort(active.begin(), active.end());
  return active;
}

// A few primal-dual active-set steps from a candidate that is not a KKT
// point: drop every row whose polished dual is negative, add every inactive
// row the polished point violates, refactor. An interior-point or ALM
// solver's point often has the right active set but for a few weakly active
// rows (the chain benchmark at n = 10000: one dual of -1.7e-5 kept 4229 rows
// from polishing, and the gradient was 0.6 % off). The result is used only
// if it is a KKT point; otherwise the candidate stays as it was.
constexpr int kRepairSteps = 4;

template <class Problem>
Candidate repair_active_set(const Problem& qp, Candidate chosen, const Vector& scale_C,
                            const Vector& scale_A, const Settings& settings, FactorCache* cache) {
  const Index n = qp.n(), m = qp.m();
  const double tolerance = std::max(settings.eps_abs, 1e-9);
  const double slack_floor = -tolerance * (1.0 + core::finite_max_abs(qp.d));
  Candidate current = chosen;  // shares the factorization: cheap
  for (int step = 0; step < kRepairSteps && current.x.allFinite(); ++step) {
    const Index k = static_cast<Index>(current.active.size());
    std::vector<bool> in(m, false), drop(m, false);
    for (Index i : current.active) in[i] = true;
    bool changed = false;
    if (k > 0) {
      const Vector mu = current.x.tail(k);
      const double dual_floor = -tolerance * (1.0 + mu.cwiseAbs().maxCoeff());
      for (Index i = 0; i < k; ++i)
        if (mu[i] < dual_floor) drop[current.active[i]] = changed = true;
    }
    const Vector slack = m > 0 ? Vector(qp.d - qp.C * current.x.head(n)) : Vector();
    std::vector<Index> next;
    for (Index i = 0; i < m; ++i) {
      const bool add = !in[i] && slack[i] < slack_floor;
      changed = changed || add;
      if ((in[i] && !drop[i]) || add) next.push_back(i);
    }
    if (!changed) break;  // neither: an inaccurate solve, not a wrong set
    current = try_active_set(qp, std::move(next), scale_C, scale_A, settings, cache);
    if (current.kkt_point) return current;
  }
  return chosen;
}

template <class Problem>
Solution finish(const Problem& qp, const Settings& settings, PrimalDual point,
                const Vector& scale_C, const Vector& scale_A, Clock::time_point start,
                FactorCache* cache) {
  Solution solution;
  solution.status = point.status;
  solution.iterations = point.iterations;
  solution.solver = point.solver;
  solution.z = point.z;
  const Index m = qp.m(), p = qp.p();
  // An "optimal" point far outside the constraints is a solver failure (DAQP
  // reports success on the infeasible equality 0 z = 1): polishing repairs
  // small violations, not this.
  if (is_optimal(solution.status) &&
      primal_violation(qp, point.z) > 1e3 * std::max(settings.eps_abs, 1e-9) *
                                          (1.0 + std::max(max_abs(qp.b), core::finite_max_abs(qp.d))))
    solution.status = Status::NumericalError;
  if (!is_optimal(solution.status)) {
    solution.lam = point.has_duals ? point.lam : Vector::Constant(p, NAN);
    solution.mu = point.has_duals ? point.mu : Vector::Constant(m, NAN);
    solution.timings.total = seconds_since(start);
    return solution;
  }
  const auto active_start = Clock::now();
  const bool need_duals = !point.has_duals || !settings.dual_available;
  // polish=false keeps the solver's z: duals are then recovered with z fixed.
  const bool polish = settings.polish;

  const Vector residual = ((qp.d - qp.C * solution.z).array() * scale_C.array()).matrix();
  std::vector<Index> active = core::active_rows(residual, settings.eps_active);
  if (settings.refine_active)
    active = core::refine_active_rows(qp, solution.z, residual, std::move(active), settings);
  Candidate chosen = try_active_set(qp, std::move(active), scale_C, scale_A, settings, cache);
  if (polish && !chosen.kkt_point && point.has_duals) {
    // Wider sets: the rows with large duals, then also those whose dual
    // exceeds their slack. The first that polishes is taken; if none does,
    // the widest is still the better active set: a row with a clear dual is
    // active, whatever its slack (dropping such duals broke stationarity:
    // Maros-Meszaros QGFRDXPN, KKT residual 52 against 2e-4 with them).
    std::optional<Candidate> widest;
    for (const bool dual_over_slack : {false, true}) {
      std::vector<Index> widened =
          add_rows_with_duals(chosen.active, point.mu, residual, settings, dual_over_slack);
      const std::size_t size = widest ? widest->active.size() : chosen.active.size();
      if (widened.size() == size) continue;
      widest = try_active_set(qp, std::move(widened), scale_C, scale_A, settings, cache);
      if (widest->kkt_point) break;
    }
    if (widest) chosen = std::move(*widest);
  }
  if (polish && !chosen.kkt_point)
    chosen = repair_active_set(qp, std::move(chosen), scale_C, scale_A, settings, cache);

  const Index n = qp.n();
  Index k = static_cast<Index>(chosen.active.size());

  Vector lam = point.has_duals ? point.lam : Vector::Zero(p);
  Vector mu_active(k);
  for (Index i = 0; i < k; ++i) mu_active[i] = point.has_duals ? point.mu[chosen.active[i]] : 0.0;
  if (polish && chosen.kkt_point) {
    solution.z = chosen.x.head(n);
    lam = chosen.x.segment(n, p);
    mu_active = chosen.x.tail(k);
    solution.polished = true;
    solution.duals_recovered = need_duals;
  } else if (need_duals) {
    const Vector gradient = qp.P * solution.z + qp.q;
    auto fit = core::solve_dual_least_squares(qp, chosen.active, gradient);
    // On a degenerate active set the least-squares duals can be negative
    // although nonnegative ones exist: a row with a negative dual is not
    // needed to balance the gradient. Drop the most negative and refit.
    const double tolerance = std::max(settings.eps_abs, 1e-9);
    while (fit.y.size() == p + static_cast<Index>(chosen.active.size()) && !chosen.active.empty()) {
      const Vector mu_fit = fit.y.tail(chosen.active.size());
      Index worst;
      if (mu_fit.minCoeff(&worst) >= -tolerance * (1.0 + mu_fit.cwiseAbs().maxCoeff())) break;
      std::vector<Index> fewer = chosen.active;
      fewer.erase(fewer.begin() + worst);
      chosen = try_active_set(qp, std::move(fewer), scale_C, scale_A, settings, cache);
      fit = core::solve_dual_least_squares(qp, chosen.active, gradient);
    }
    k = static_cast<Index>(chosen.active.size());
    mu_active.resize(k);
    if (fit.y.size() == p + k) {
      lam = fit.y.head(p);
      mu_active = fit.y.tail(k);
    }
    solution.duals_recovered = true;
  }

  if (p + k > n) solution.degeneracy |= kTooManyActive;
  if (chosen.singular) solution.degeneracy |= kSingularKKT;
  solution.lam = lam;
  solution.mu = Vector::Zero(m);
  for (Index i = 0; i < k; ++i) solution.mu[chosen.active[i]] = mu_active[i];
  if (k > 0) {
    const double weak = settings.weak_dual_tol * std::max(1.0, mu_active.cwiseAbs().maxCoeff());
    if (mu_active.minCoeff() < weak) solution.degeneracy |= kWeaklyActive;
  }
  // A row left out of the active set but on its boundary at the final point
  // is weakly active too (an interior-point solver stops with its slack above
  // eps_active, and the polished point lands on it: Maros-Meszaros HS35MOD).
  if (m > 0 && !(solution.degeneracy & kWeaklyActive)) {
    std::vector<bool> in(m, false);
    for (Index i : chosen.active) in[i] = true;
    const Vector slack = ((qp.d - qp.C * solution.z).array() * scale_C.array()).matrix();
    for (Index i = 0; i < m; ++i)
      if (!in[i] && std::abs(slack[i]) < settings.eps_active) {
        solution.degeneracy |= kWeaklyActive;
        break;
      }
  }
  solution.active = std::move(chosen.active);
  solution.kkt_residual = kkt_residual(qp, solution.z, solution.lam, solution.mu);
  solution.kkt = std::move(chosen.kkt);
  solution.timings.active_set = seconds_since(active_start);
  solution.timings.total = seconds_since(start);
  return solution;
}

// Problems no solver is given: a bound d_i = -inf (row i can never hold)
// and a P with negative curvature (a solver's point would be a saddle).
template <class Problem>
std::optional<Status> screen(const Problem& qp) {
  for (Index i = 0; i < qp.m(); ++i)
    if (qp.d[i] == -INFINITY) return Status::PrimalInfeasible;
  if (core::has_negative_curvature(qp.P)) return Status::NonConvex;
  return std::nullopt;
}

template <class Problem>
Solution unsolved(const Problem& qp, Status status, Clock::time_point start) {
  Solution solution;
  solution.status = status;
  solution.z = Vector::Constant(qp.n(), NAN);
  solution.lam = Vector::Constant(qp.p(), NAN);
  solution.mu = Vector::Constant(qp.m(), NAN);
  solution.timings.total = seconds_since(start);
  return solution;
}

// The entries `rows` of v, and back: a solver that does not see the rows
// with d_i = +inf gives them a zero dual.
Vector take(const Vector& v, const std::vector<Index>& rows) {
  Vector out(rows.size());
  for (std::size_t j = 0; j < rows.size(); ++j) out[j] = v[rows[j]];
  return out;
}

Vector put(const Vector& v, const std::vector<Index>& rows, Index size) {
  Vector out = Vector::Zero(size);
  for (std::size_t j = 0; j < rows.size(); ++j) out[rows[j]] = v[j];
  return out;
}

// `validated`: the caller has already validated the problem's data (a
// dense problem moved to the sparse path).
template <class Problem>
Solution forward_impl(const Problem& given, const Settings& settings, const QPSolver& solver,
                      const Solution* warm, FactorCache* cache, bool validated = false) {
  const auto start = Clock::now();
  if (!validated) validate(given, settings);
  const core::FullWidth full(given);
  const Problem& qp = core::view(full, given);
  if (const auto status = screen(qp)) return unsolved(qp, *status, start);
  const Vector scale_C = core::row_scale(core::row_norms(qp.C), settings);
  const Vector scale_A = core::row_scale(core::row_norms(qp.A), settings);

  PrimalDual warm_point;
  const PrimalDual* warm_ptr = nullptr;
  if (settings.warm_start && warm != nullptr && warm->z.size() == qp.n() &&
      warm->lam.size() == qp.p() && warm->mu.size() == qp.m() && warm->z.allFinite()) {
    warm_point.z = warm->z;
    warm_point.lam = warm->lam;
    warm_point.mu = warm->mu;
    warm_ptr = &warm_point;
  }

  // The solver sees the normalized rows (when asked): storage for them.
  typename core::StorageOf<Problem>::type scaled;
  if (settings.normalize_constraints) {
    scaled.C = core::scale_rows(qp.C, scale_C);
    scaled.A = core::scale_rows(qp.A, scale_A);
    scaled.d = qp.d.cwiseProduct(scale_C);
    scaled.b = qp.b.cwiseProduct(scale_A);
  }
  // Rows with d_i = +inf never bind: the solver does not see them (not every
  // solver takes an infinite bound) and their duals are zero. The rest of
  // the forward pass works on the full problem, where they stay inactive.
  const std::vector<Index> bounded_rows = core::finite_rows(qp.d);
  const bool drop_rows = static_cast<Index>(bounded_rows.size()) < qp.m();
  std::optional<Problem> seen;  // what the solver sees, when it is not qp
  if (settings.normalize_constraints) seen.emplace(scaled.view(qp));
  typename core::StorageOf<Problem>::type bounded;
  if (drop_rows) {
    bounded = core::keep_rows(seen ? *seen : qp, bounded_rows);
    seen.reset();
    seen.emplace(bounded.view(qp));
  }
  // Solves with `solver_settings`, from `start_point` (may be null); duals in
  // the original rows and scale.
  auto solve = [&](const Settings& solver_settings, const PrimalDual* start_point) {
    if (!seen) return solver.solve(qp, solver_settings, start_point);
    PrimalDual start_seen;
    if (start_point != nullptr) {
      // Row i is divided by its norm, so its dual is multiplied by it.
      start_seen = *start_point;
      start_seen.lam = start_point->lam.cwiseQuotient(scale_A);
      start_seen.mu = start_point->mu.cwiseQuotient(scale_C);
      if (drop_rows && start_seen.mu.size() == qp.m()) start_seen.mu = take(start_seen.mu, bounded_rows);
    }
    PrimalDual point = solver.solve(*seen, solver_settings, start_point != nullptr ? &start_seen : nullptr);
    if (point.has_duals) {
      if (drop_rows && point.mu.size() == static_cast<Index>(bounded_rows.size()))
        point.mu = put(point.mu, bounded_rows, qp.m());
      point.mu = point.mu.cwiseProduct(scale_C);
      point.lam = point.lam.cwiseProduct(scale_A);
    }
    return point;
  };
  auto checked = [&](PrimalDual point) {
    if (point.solver.empty()) point.solver = solver.info().name;
    if (point.z.size() != qp.n()) point.status = Status::NumericalError;
    const bool finite = point.z.allFinite() &&
                        (!point.has_duals || (point.lam.allFinite() && point.mu.allFinite()));
    if (is_optimal(point.status) && !finite) point.status = Status::NumericalError;
    return point;
  };

  auto solve_start = Clock::now();
  PrimalDual point = checked(solve(settings, warm_ptr));
  double solve_time = seconds_since(solve_start);
  Solution solution = finish(qp, settings, point, scale_C, scale_A, start, cache);

  // A solve too loose to identify the active set leaves an unpolished point:
  // tighten the tolerance and continue from it, at most twice.
  Settings tighter = settings;
  for (int round = 0; round < 2 && settings.polish && is_optimal(solution.status) &&
                      !solution.polished && point.has_duals;
       ++round) {
    tighter.eps_abs = std::max(tighter.eps_abs * 1e-2, 1e-12);
    tighter.eps_rel = tighter.eps_rel * 1e-2;
    solve_start = Clock::now();
    PrimalDual retry = checked(solve(tighter, &point));
    solve_time += seconds_since(solve_start);
    if (!is_optimal(retry.status)) break;
    point = std::move(retry);
    Solution again = finish(qp, tighter, point, scale_C, scale_A, start, cache);
    again.iterations += solution.iterations;
    solution = std::move(again);
  }
  solution.timings.solve = solve_time;
  solution.storage = core::is_sparse(qp) ? Storage::Sparse : Storage::Dense;
  return solution;
}

template <class Problem>
Solution forward_from_impl(const Problem& given, const Settings& settings, PrimalDual point) {
  const auto start = Clock::now();
  validate(given, settings);
  const core::FullWidth full(given);
  const Problem& qp = core::view(full, given);
  if (point.z.size() != qp.n())
    throw std::invalid_argument("z must have " + std::to_string(qp.n()) + " entries, got " +
                                std::to_string(point.z.size()));
  if (point.has_duals && (point.lam.size() != qp.p() || point.mu.size() != qp.m()))
    throw std::invalid_argument("the duals must have " + std::to_string(qp.p()) + " and " +
                                std::to_string(qp.m()) + " entries");
  if (const auto status = screen(qp)) return unsolved(qp, *status, start);
  if (is_optimal(point.status) && !point.z.allFinite()) point.status = Status::NumericalError;
  const Vector scale_C = core::row_scale(core::row_norms(qp.C), settings);
  const Vector scale_A = core::row_scale(core::row_norms(qp.A), settings);
  return finish(qp, settings, std::move(point), scale_C, scale_A, start, nullptr);
}

}  // namespace

Layer::Layer(Settings settings) : settings_(std::move(settings)) {
  settings_.validate();
  resolve_linear_solver_name(settings_.lin_solver);
  solver_ = make_qp_solver(settings_.qp_solver, settings_.fallback_solvers);
  // "auto" storage belongs to the "auto" chain: a solver or a linear solver
  // the user chose runs on the storage the user gave.
  auto_storage_ = settings_.storage == "auto" && settings_.qp_solver == "auto" &&
                  settings_.fallback_solvers.empty() &&
                  resolve_linear_solver_name(settings_.lin_solver) == "auto";
  check_sparse_storage();
}

Layer::Layer(Settings settings, std::shared_ptr<const QPSolver> solver)
    : settings_(std::move(settings)), solver_(std::move(solver)) {
  settings_.validate();
  resolve_linear_solver_name(settings_.lin_solver);
  check_sparse_storage();
}

void Layer::check_sparse_storage() {
  sparse_storage_ = settings_.storage == "sparse";
  if (!sparse_storage_) return;
  if (solver_ && !solver_->info().sparse)
    throw std::invalid_argument("storage 'sparse' needs a forward solver that takes sparse data; qp_solver '" +
                                solver_->info().name + "' takes dense data only");
  const std::string linear = resolve_linear_solver_name(settings_.lin_solver);
  if (linear != "auto" && !make_linear_solver(linear)->info().sparse)
    throw std::invalid_argument("storage 'sparse' needs a linear solver that takes sparse data; lin_solver '" +
                                settings_.lin_solver + "' takes dense data only");
}

const QPSolver& Layer::solver() const {
  if (!solver_)
    throw std::logic_error("this layer has no forward solver: give points through forward_from");
  return *solver_;
}

Solution Layer::forward(const DenseProblem& problem, const Solution* warm,
                       FactorCache* cache) const {
  // Tiny problems never reach the rule (their solve takes microseconds).
  bool validated = false;
  if (sparse_storage_ || (auto_storage_ && problem.n() >= kSparseFromVariables)) {
    // The data are validated as given, so that messages name the dense
    // arguments; the sparse copy holds the same values.
    validate(problem, settings_);
    validated = true;
    const core::FullWidth full(problem);
    if (sparse_storage_ || sparse_pays_off(full.dense())) {
      const SparseQP sparse = to_sparse(full.dense());
      Solution solution = forward_impl(sparse.view(), settings_, solver(), warm, cache, true);
      solution.problem_fingerprint = fingerprint(problem);
      return solution;
    }
  }
  Solution solution = forward_impl(problem, settings_, solver(), warm, cache, validated);
  solution.problem_fingerprint = fingerprint(problem);
  return solution;
}

Solution Layer::forward(const SparseProblem& problem, const Solution* warm,
                       FactorCache* cache) const {
  Solution solution = forward_impl(problem, settings_, solver(), warm, cache);
  solution.problem_fingerprint = fingerprint(problem);
  return solution;
}

Solution Layer::forward_from(const DenseProblem& problem, PrimalDual point) const {
  Solution solution = forward_from_impl(problem, settings_, std::move(point));
  solution.problem_fingerprint = fingerprint(problem);
  return solution;
}

Solution Layer::forward_from(const SparseProblem& problem, PrimalDual point) const {
  Solution solution = forward_from_impl(problem, settings_, std::move(point));
  solution.problem_fingerprint = fingerprint(problem);
  return solution;
}

}  // namespace dqp
