#include "solver_chain.hpp"

#include <stdexcept>
#include <utility>

namespace dqp::solvers {
namespace {

// Tries each solver in turn; a non-optimal answer of the first is kept if no
// later solver does better, so the status describes the solver asked for.
template <class Problem>
PrimalDual first_optimal(const std::vector<std::shared_ptr<const QPSolver>>& solvers,
                         const std::string& chain, const Problem& problem,
                         const Settings& settings, const PrimalDual* warm) {
  if (solvers.empty())
    throw std::invalid_argument("qp_solver '" + chain + "' has no solver for this storage");
  PrimalDual first;
  int iterations = 0;
  for (std::size_t i = 0; i < solvers.size(); ++i) {
    PrimalDual point = solvers[i]->solve(problem, settings, warm);
    iterations += point.iterations;
    if (point.solver.empty()) point.solver = solvers[i]->info().name;
    if (is_optimal(point.status) || solvers.size() == 1) {
      point.iterations = iterations;
      return point;
    }
    if (i == 0) first = std::move(point);
  }
  first.iterations = iterations;
  return first;
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

PrimalDual SolverChain::solve(const DenseProblem& problem, const Settings& settings,
                              const PrimalDual* warm) const {
  return first_optimal(dense_, name_, problem, settings, warm);
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
  std::shared_ptr<const QPSolver> proxqp = make_qp_solver("proxqp");
  std::vector<std::shared_ptr<const QPSolver>> dense{proxqp}, sparse{proxqp};
  if (has_qp_solver("piqp")) {
    std::shared_ptr<const QPSolver> piqp = make_qp_solver("piqp");
    dense.push_back(piqp);
    sparse.insert(sparse.begin(), piqp);
  }
  return std::make_unique<SolverChain>("auto", std::move(dense), std::move(sparse));
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
