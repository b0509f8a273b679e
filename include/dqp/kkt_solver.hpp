// Linear solvers for the reduced KKT system
//
//   K = [[P, Ãᵀ], [Ã, 0]],   Ã = [A; C_active],
//
// one interface, one adapter per library, a registry by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include "dqp/types.hpp"

namespace dqp {

using KKTDense = Eigen::MatrixXd;
using KKTSparse = Eigen::SparseMatrix<double>;

class KKTFactorization {
 public:
  virtual ~KKTFactorization() = default;
  // Overwrites rhs with K⁻¹ rhs (K is symmetric, so this also serves the
  // adjoint). For a least-squares factorization: a minimizer of ||K x - rhs||.
  virtual void solve(Eigen::Ref<Vector> rhs) const = 0;
  // True when a rank-revealing factorization found K singular.
  virtual bool rank_deficient() const { return false; }
  // True when the factorization already refused a numerically singular K by
  // a condition estimate of its own (LAPACK's or Eigen's rcond); the core
  // estimates the others' (src/kkt/condition_estimate.hpp).
  virtual bool checks_condition() const { return false; }
};

struct LinearSolverInfo {
  std::string name;
  bool dense = false;
  bool sparse = false;
  bool least_squares = false;   // handles singular K
  std::string description;
};

class LinearSolver {
 public:
  virtual ~LinearSolver() = default;
  virtual LinearSolverInfo info() const = 0;
  // Null when K is (numerically) singular or the factorization fails.
  virtual std::unique_ptr<KKTFactorization> factorize(const KKTDense& K) const;
  virtual std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const;
  // The same, told that P is K's leading n x n block. Solvers that use the
  // block structure (the Schur complement) override these; the others ignore
  // n. The core calls these.
  virtual std::unique_ptr<KKTFactorization> factorize_kkt(const KKTDense& K, Index n) const;
  virtual std::unique_ptr<KKTFactorization> factorize_kkt(const KKTSparse& K, Index n) const;
};

// Accepts registry names and the reference package's names ("scipy LU",
// "scipy SPLU", "qdldl", ...). Throws std::invalid_argument listing the names.
std::unique_ptr<LinearSolver> make_linear_solver(const std::string& name);
// The registry name a user-facing name resolves to ("auto" stays "auto").
std::string resolve_linear_solver_name(const std::string& name);
std::vector<LinearSolverInfo> linear_solvers();

}  // namespace dqp
