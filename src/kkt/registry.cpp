// Linear solvers by name, with the reference package's names as aliases.
#include <functional>
#include <map>
#include <stdexcept>

#include "adapters.hpp"

namespace dqp {
namespace {

using Factory = std::function<std::unique_ptr<LinearSolver>()>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {"lu", kkt::make_dense_lu},
      {"cod", kkt::make_dense_cod},
      {"sparse_ldlt", kkt::make_sparse_ldlt},
      {"sparse_lu", kkt::make_sparse_lu},
      {"sparse_qr", kkt::make_sparse_qr},
#ifdef DQP_HAVE_QDLDL
      {"qdldl", kkt::make_qdldl},
#endif
#ifdef DQP_HAVE_SUITESPARSE
      {"umfpack", kkt::make_umfpack},
      {"klu", kkt::make_klu},
      {"spqr", kkt::make_spqr},
#endif
  };
  return entries;
}

// The reference's names. "scipy LDL" (Bunch-Kaufman) has no dense symmetric
// indefinite counterpart in Eigen; it maps to the pivoted LU, which solves the
// same system. "qdldl" is QDLDL itself when built in, else the same unpivoted
// LDLᵀ algorithm in Eigen.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> table = {
      {"scipy LU", "lu"},
      {"scipy LDL", "lu"},
      {"scipy SPLU", "sparse_lu"},
#ifndef DQP_HAVE_QDLDL
      {"qdldl", "sparse_ldlt"},
#endif
      {"dense_lu", "lu"},
      {"dense_cod", "cod"},
  };
  return table;
}

std::string known_names() {
  std::string names = "'auto'";
  for (const auto& [name, factory] : registry()) names += ", '" + name + "'";
  for (const auto& [alias, target] : aliases()) names += ", '" + alias + "'";
  return names;
}

}  // namespace

std::string resolve_linear_solver_name(const std::string& name) {
  if (name == "auto") return name;
  auto alias = aliases().find(name);
  const std::string& resolved = alias == aliases().end() ? name : alias->second;
  for (const auto& [known, factory] : registry())
    if (known == resolved) return resolved;
  throw std::invalid_argument("lin_solver: unknown linear solver '" + name +
                              "'; known names are " + known_names());
}

std::unique_ptr<LinearSolver> make_linear_solver(const std::string& name) {
  const std::string resolved = resolve_linear_solver_name(name);
  for (const auto& [known, factory] : registry())
    if (known == resolved) return factory();
  throw std::invalid_argument("lin_solver: 'auto' is chosen per problem, not constructed");
}

std::vector<LinearSolverInfo> linear_solvers() {
  std::vector<LinearSolverInfo> infos;
  for (const auto& [name, factory] : registry()) infos.push_back(factory()->info());
  return infos;
}

}  // namespace dqp
