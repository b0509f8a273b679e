// Several native solvers behind one QPSolver: the first that reaches an
// optimal point answers. "auto" is the chain dqp picks by storage.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dqp/qp_solver.hpp"

namespace dqp::solvers {

class SolverChain final : public QPSolver {
 public:
  // `name` is what info() reports; `dense` and `sparse` are the solvers tried,
  // in order, for each storage (a solver may appear in both).
  SolverChain(std::string name, std::vector<std::shared_ptr<const QPSolver>> dense,
              std::vector<std::shared_ptr<const QPSolver>> sparse);

  // Dense problems with at least `n` variables use `solvers` instead.
  void set_large_dense(Index n, std::vector<std::shared_ptr<const QPSolver>> solvers);

  SolverInfo info() const override;
  PrimalDual solve(const DenseProblem& problem, const Settings& settings,
                   const PrimalDual* warm) const override;
  PrimalDual solve(const SparseProblem& problem, const Settings& settings,
                   const PrimalDual* warm) const override;

 private:
  std::string name_;
  std::vector<std::shared_ptr<const QPSolver>> dense_, sparse_, large_dense_;
  Index large_dense_from_ = 0;
};

// `primary` then each of `fallbacks`, every one used on the storages it takes.
std::unique_ptr<QPSolver> make_chain(const std::string& primary,
                                     const std::vector<std::string>& fallbacks);

// dqp's default: PIQP first (an interior-point method: predictable on large,
// badly scaled problems, where ProxQP can crawl or raise false infeasibility
// alarms), except for dense problems with n < 100, where DAQP then ProxQP are
// faster; then the others, and HiGHS for sparse problems.
std::unique_ptr<QPSolver> make_auto();

}  // namespace dqp::solvers
