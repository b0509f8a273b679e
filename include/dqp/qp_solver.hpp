// Forward solvers: one interface, one adapter per solver library, a registry by
// name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dqp/problem.hpp"
#include "dqp/settings.hpp"
#include "dqp/status.hpp"

namespace dqp {

// A solver's answer, in dqp's sign convention:
//   P z + q + Aᵀ lam + Cᵀ mu = 0,  mu ≥ 0.
struct PrimalDual {
  Vector z, lam, mu;
  bool has_duals = false;
  Status status = Status::NotSolved;
  int iterations = 0;
  std::string solver;  // which solver answered (set by dqp when empty)
};

struct SolverInfo {
  std::string name;
  bool dense = false;
  bool sparse = false;
  bool duals = false;
  bool warm_start = false;
};

class QPSolver {
 public:
  virtual ~QPSolver() = default;
  virtual SolverInfo info() const = 0;
  // `warm` (may be null) is a previous solution of a problem of the same size.
  virtual PrimalDual solve(const DenseProblem& problem, const Settings& settings,
                           const PrimalDual* warm) const;
  virtual PrimalDual solve(const SparseProblem& problem, const Settings& settings,
                           const PrimalDual* warm) const;
};

// Throws std::invalid_argument listing the known names. Besides the
// registry's solvers, "auto" is dqp's default chain (see Settings::qp_solver).
std::unique_ptr<QPSolver> make_qp_solver(const std::string& name);
// The solver, with `fallbacks` tried in order when it does not reach an
// optimal point (the first solver's status is kept if none does).
std::unique_ptr<QPSolver> make_qp_solver(const std::string& name,
                                         const std::vector<std::string>& fallbacks);
bool has_qp_solver(const std::string& name);
// A chain of any solvers (the caller's own too), tried in order on the
// storages each takes; info().name is `name`.
std::unique_ptr<QPSolver> make_solver_chain(const std::string& name,
                                            const std::vector<std::shared_ptr<const QPSolver>>& solvers);
std::vector<SolverInfo> qp_solvers();

}  // namespace dqp
