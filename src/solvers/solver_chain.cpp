#include "solver_chain.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "../core/kkt_residual.hpp"

namespace dqp::solvers {
namespace {

// How far an "optimal" answer's relative KKT residual is above what the
// settings ask for (1 = at the limit; infinity = not even the right sizes).
// Only gross errors are caught (a solver that stops on its own scaled
// criteria, or a wrong "optimal"): the core's polish repairs the rest.
constexpr double kAcceptableResidual = 1e3;  // x eps_abs, relative

template <class Problem>
double residual_ratio(const Problem& problem, const Settings& settings, const PrimalDual& point) {
  if (!point.has_duals) return 0.0;  // nothing to judge by: trusted
  if (point.z.size() != problem.n() || point.lam.size() != problem.p() ||
      point.mu.size() != problem.m() || !point.z.allFinite() || !point.lam.allFinite() ||
      !point.mu.allFinite())
    return std::numeric_limits<double>::infinity();
  const double tolerance = kAcceptableResidual * std::max(settings.eps_abs, 1e-9);
  return core::relative_kkt_residual(problem, point.z, point.lam, point.mu) / tolerance;
}

// Tries each solver in turn until one answers optimal with an acceptable KKT
// residual. Otherwise the optimal answer with the smallest residual is kept,
// or, if none is optimal, the first solver's answer, so that the status
// describes the solver asked for.
template <class Problem>
PrimalDual first_optimal(const std::vector<std::shared_ptr<const QPSolver>>& solvers,
                         const std::string& chain, const Problem& problem,
                         const Settings& settings, const PrimalDual* warm) {
  if (solvers.empty())
    throw std::invalid_argument("qp_solver '" + chain + "' has no solver for this storage");
  PrimalDual first, best;
  double best_ratio = std::numeric_limits<double>::infinity();
  bool have_best = false;
  int iterations = 0;
  for (std::size_t i = 0; i < solvers.size(); ++i) {
    PrimalDual point = solvers[i]->solve(problem, settings, warm);
    iterations += point.iterations;
    if (point.solver.empty()) point.solver = solvers[i]->info().name;
    if (solvers.size() == 1) return point;
    if (is_optimal(point.status)) {
      const double ratio = residual_ratio(problem, settings, point);
      if (ratio <= 1.0) {
        point.iterations = iterations;
        return point;
      }
      if (!have_best || ratio < best_ratio) {
        best = std::move(point);
        best_ratio = ratio;
        have_best = true;
      }
    } else if (i == 0) {
      first = std::move(point);
    }
  }
  PrimalDual out = have_best ? std::move(best) : std::move(first);
  out.iterations = iterations;
  return out;
}

}  // namespace

SolverChain::SolverChain(std::string name, std::vector<std::shared_ptr<const QPSolver>> dense,
                         std::vector<std::shared_ptr<const QPSolver>> sparse)
    : name_(std::move(name)), dense_(std::move(dense)), sparse_(std::move(sparse)) {}

SolverInfo SolverChain::info() const {
  SolverInfo out{name_, !dense_.empty(), !sparse_.empty(), true, true};
  for (const auto* list : {&dense_, &sparse_})
    for (const auto& solver : *list) {
      const SolverInfo one = solver->info();
      out.duals = out.duals && one.duals;
      out.warm_start = out.warm_start && one.warm_start;
    }
  return out;
}

void SolverChain::set_large_dense(Index n, std::vector<std::shared_ptr<const QPSolver>> solvers) {
  large_dense_from_ = n;
  large_dense_ = std::move(solvers);
}

PrimalDual SolverChain::solve(const DenseProblem& problem, const Settings& settings,
                              const PrimalDual* warm) const {
  const bool large = !large_dense_.empty() && problem.n() >= large_dense_from_;
  return first_optimal(large ? large_dense_ : dense_, name_, problem, settings, warm);
}

PrimalDual SolverChain::solve(const SparseProblem& problem, const Settings& settings,
                              const PrimalDual* warm) const {
  return first_optimal(sparse_, name_, problem, settings, warm);
}

std::unique_ptr<QPSolver> make_chain(const std::string& primary,
                                     const std::vector<std::string>& fallbacks) {
  std::vector<std::shared_ptr<const QPSolver>> solvers{make_qp_solver(primary)};
  std::string name = primary;
  for (const std::string& fallback : fallbacks) {
    solvers.push_back(make_qp_solver(fallback));
    name += "+" + fallback;
  }
  return make_solver_chain(name, solvers);
}

std::unique_ptr<QPSolver> make_auto() {
  // Measured through dqp's core on random dense QPs (m = n, p = n/2): DAQP
  // (dual active set) 8 us, ProxQP 14, PIQP 26 at n = 10; 95, 132 and 220 us
  // at n = 50; at n = 100-200 ProxQP and PIQP are even, and on structured
  // dense problems PIQP is far ahead (the chain benchmark at n = 1000: 0.68
  // against 3.5 s). Sparse: PIQP, then HiGHS (active set: exact on
  // degenerate LP-like problems where an interior point stops at a poor
  // residual), then ProxQP.
  constexpr Index kLargeDense = 100;
  std::shared_ptr<const QPSolver> proxqp = make_qp_solver("proxqp");
  std::vector<std::shared_ptr<const QPSolver>> dense, large_dense, sparse;
  if (has_qp_solver("daqp")) dense.push_back(make_qp_solver("daqp"));
  dense.push_back(proxqp);
  if (has_qp_solver("piqp")) {
    std::shared_ptr<const QPSolver> piqp = make_qp_solver("piqp");
    dense.push_back(piqp);
    large_dense.push_back(piqp);
    sparse.push_back(piqp);
  }
  if (has_qp_solver("highs")) sparse.push_back(make_qp_solver("highs"));
  large_dense.push_back(proxqp);
  sparse.push_back(proxqp);
  auto chain = std::make_unique<SolverChain>("auto", std::move(dense), std::move(sparse));
  chain->set_large_dense(kLargeDense, std::move(large_dense));
  return chain;
}

}  // namespace dqp::solvers

namespace dqp {

std::unique_ptr<QPSolver> make_solver_chain(const std::string& name,
                                            const std::vector<std::shared_ptr<const QPSolver>>& solvers) {
  std::vector<std::shared_ptr<const QPSolver>> dense, sparse;
  for (const auto& solver : solvers) {
    if (!solver) throw std::invalid_argument("make_solver_chain: null solver in '" + name + "'");
    const SolverInfo info = solver->info();
    if (info.dense) dense.push_back(solver);
    if (info.sparse) sparse.push_back(solver);
  }
  return std::make_unique<solvers::SolverChain>(name, std::move(dense), std::move(sparse));
}

}  // namespace dqp
