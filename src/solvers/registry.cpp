// Forward solvers by name.
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "adapters.hpp"
#include "solver_chain.hpp"

namespace dqp {
namespace {

using Factory = std::function<std::unique_ptr<QPSolver>()>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {"proxqp", solvers::make_proxqp},
#ifdef DQP_HAVE_QPOASES
      {"qpoases", solvers::make_qpoases},
#endif
#ifdef DQP_HAVE_CLP
      {"clp", solvers::make_clp},
#endif
#ifdef DQP_HAVE_PIQP
      {"piqp", solvers::make_piqp},
#endif
#ifdef DQP_HAVE_DAQP
      {"daqp", solvers::make_daqp},
#endif
#ifdef DQP_HAVE_HIGHS
      {"highs", solvers::make_highs},
#endif
  };
  return entries;
}

}  // namespace

std::unique_ptr<QPSolver> make_qp_solver(const std::string& name) {
  if (name == "auto") return solvers::make_auto();
  for (const auto& [known, factory] : registry())
    if (known == name) return factory();
  std::string names;
  for (const auto& [known, factory] : registry()) names += (names.empty() ? "'" : ", '") + known + "'";
  throw std::invalid_argument("qp_solver: unknown native solver '" + name + "'; native solvers are " +
                              names);
}

std::unique_ptr<QPSolver> make_qp_solver(const std::string& name,
                                         const std::vector<std::string>& fallbacks) {
  if (fallbacks.empty()) return make_qp_solver(name);
  return solvers::make_chain(name, fallbacks);
}

bool has_qp_solver(const std::string& name) {
  for (const auto& [known, factory] : registry())
    if (known == name) return true;
  return false;
}

std::vector<SolverInfo> qp_solvers() {
  std::vector<SolverInfo> infos;
  for (const auto& [name, factory] : registry()) infos.push_back(factory()->info());
  return infos;
}

}  // namespace dqp
