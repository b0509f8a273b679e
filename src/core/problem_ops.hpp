// The few operations on problem data that differ between dense and sparse
// storage. Everything else in the core is written once, over both.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "dqp/kkt_solver.hpp"
#include "dqp/problem.hpp"
#include "dqp/settings.hpp"

namespace dqp::core {

// Euclidean norm of each row.
Vector row_norms(const DenseView& M);
Vector row_norms(const SparseView& M);

// The scale of each constraint row when normalizing: 1 / row norm, or 1 for
// rows below settings.normalize_floor (and everywhere when normalization is off).
Vector row_scale(const Vector& norms, const Settings& settings);

// diag(scale) · M, owned.
RowMatrix scale_rows(const DenseView& M, const Vector& scale);
SparseMatrix scale_rows(const SparseView& M, const Vector& scale);

// K̂ = [[P, (SÃ)ᵀ], [SÃ, 0]] with Ã = [A; C_active] and S = diag(row_scale).
KKTDense assemble_kkt(const DenseProblem& qp, const std::vector<Index>& active,
                      const Vector& row_scale);
KKTSparse assemble_kkt(const SparseProblem& qp, const std::vector<Index>& active,
                       const Vector& row_scale);

// argmin_y ||Ãᵀ y + g|| with Ã = [A; C_rows]; returns y and the residual norm.
struct LeastSquares {
  Vector y;
  double residual = 0.0;
};
LeastSquares solve_dual_least_squares(const DenseProblem& qp, const std::vector<Index>& rows,
                                      const Vector& g);
LeastSquares solve_dual_least_squares(const SparseProblem& qp, const std::vector<Index>& rows,
                                      const Vector& g);

// Indices of the finite entries of d: the rows of C that can bind (d_i =
// +inf never does).
std::vector<Index> finite_rows(const VectorView& d);
// Largest |d_i| over the finite entries (0 when none): the size of the bounds
// for tolerances, which an infinite bound would otherwise swamp.
double finite_max_abs(const VectorView& d);

// Owning storage for a row-normalized copy of a problem.
struct DenseStorage {
  RowMatrix C, A;
  Vector d, b;
  DenseProblem view(const DenseProblem& original) const {
    return {original.P, original.q, C, d, A, b};
  }
};
struct SparseStorage {
  SparseMatrix C, A;
  Vector d, b;
  SparseProblem view(const SparseProblem& original) const {
    return {original.P,
            original.q,
            SparseView(C.rows(), C.cols(), C.nonZeros(), C.outerIndexPtr(), C.innerIndexPtr(),
                       C.valuePtr()),
            d,
            SparseView(A.rows(), A.cols(), A.nonZeros(), A.outerIndexPtr(), A.innerIndexPtr(),
                       A.valuePtr()),
            b};
  }
};
// The problem with a row-free C or A given as (0, 0) seen as (0, n), so that
// products with z are well-formed. Holds what the sparse views point to.
class FullWidth {
 public:
  explicit FullWidth(const DenseProblem& qp);
  explicit FullWidth(const SparseProblem& qp);
  const DenseProblem& dense() const { return *dense_; }
  const SparseProblem& sparse() const { return *sparse_; }

 private:
  std::vector<Index> zeros_;  // an empty CSC's column pointers
  std::optional<DenseProblem> dense_;
  std::optional<SparseProblem> sparse_;
};
// A copy of C, d restricted to `rows` (A, b copied as they are): what a
// solver sees when rows with d_i = +inf are dropped.
DenseStorage keep_rows(const DenseProblem& qp, const std::vector<Index>& rows);
SparseStorage keep_rows(const SparseProblem& qp, const std::vector<Index>& rows);

inline const DenseProblem& view(const FullWidth& w, const DenseProblem&) { return w.dense(); }
inline const SparseProblem& view(const FullWidth& w, const SparseProblem&) { return w.sparse(); }

template <class Problem> struct StorageOf;
template <> struct StorageOf<DenseProblem> { using type = DenseStorage; };
template <> struct StorageOf<SparseProblem> { using type = SparseStorage; };

}  // namespace dqp::core
