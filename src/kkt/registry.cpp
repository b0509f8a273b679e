// Linear solvers by name, with the reference package's names as aliases.
#include <functional>
#include <map>
#include <stdexcept>

#include "adapters.hpp"

namespace dqp {
namespace {

using Factory = std::function<std::unique_ptr<LinearSolver>()>;

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = [] {
    std::vector<std::pair<std::string, Factory>> built_in = {
      {"lu", kkt::make_dense_lu},
#ifdef DQP_HAVE_LAPACK
      {"ldlt", kkt::make_dense_ldlt},
#endif
      {"schur_llt", kkt::make_schur_llt},
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
#ifdef DQP_HAVE_MKL
    if (kkt::pardiso_available()) built_in.emplace_back("pardiso", kkt::make_pardiso);
#endif
    return built_in;
  }();
  return entries;
}

bool registered(const std::string& name) {
  for (const auto& [known, factory] : registry())
    if (known == name) return true;
  return false;
}

// The reference's names. "scipy LDL" (Bunch-Kaufman) is the LAPACK LDLᵀ
// when built in, else the pivoted LU, which solves the same system. "qdldl"
// and "pardiso" are those libraries when present, else the closest solver
// built in: the same unpivoted LDLᵀ algorithm in Eigen for QDLDL, a pivoted
// sparse LU for PARDISO.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> table = [] {
    std::map<std::string, std::string> names = {
        {"scipy LU", "lu"},
        {"scipy LDL", registered("ldlt") ? "ldlt" : "lu"},
        {"scipy SPLU", "sparse_lu"},
        {"dense_lu", "lu"},
        {"dense_cod", "cod"},
    };
    if (!registered("qdldl")) names["qdldl"] = "sparse_ldlt";
    if (!registered("pardiso")) names["pardiso"] = registered("klu") ? "klu" : "sparse_lu";
    return names;
  }();
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
