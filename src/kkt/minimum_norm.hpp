// The minimum-norm least-squares solution from a sparse rank-revealing QR.
//
// A sparse QR of K, K Π = Q [[R11, R12], [0, 0]] with R11 of size r = rank,
// solves K x = b in the basic sense: x = Π [R11⁻¹ (Qᵀb)₁; 0], the free
// components set to zero. Every least-squares solution is that plus an
// element of null(K) = Π [−R11⁻¹ R12; I]; the one of least norm removes
// x's component in that null space. The dense path (COD) returns the
// minimum-norm solution, so without this a singular K gave another element
// of the solution set per storage: on QUADCMPC3 (98 null directions) a
// sparse ∇q of 2.3e8 against the dense 5.8e6.
//
// Costs an orthonormal basis of null(K): (n + p + k) × (its dimension)
// doubles. When that exceeds kMaxBasisEntries the basic solution is kept
// (the derivative is then one valid element, not the minimum-norm one).
#pragma once

#include <Eigen/Dense>
#include <Eigen/SparseCore>

#include "dqp/kkt_solver.hpp"

namespace dqp::kkt {

inline constexpr Index kMaxBasisEntries = Index{1} << 22;  // 32 MiB of doubles

class NullSpaceProjection {
 public:
  NullSpaceProjection() = default;
  // R: the QR's R factor (size × size, upper trapezoidal in its first `rank`
  // rows); original_column[i]: K's column that is column i of R.
  template <class RMatrix, class Columns>
  NullSpaceProjection(const RMatrix& R, const Columns& original_column, Index rank, Index size) {
    const Index nullity = size - rank;
    if (nullity <= 0 || size * nullity > kMaxBasisEntries) {
      complete_ = nullity <= 0;
      return;
    }
    // Y = R11⁻¹ R12 (rank × nullity), one triangular solve per null direction.
    Eigen::MatrixXd Y = R.topRightCorner(rank, nullity).toDense();
    if (rank > 0) {
      // Through the other storage order: sorted inner indices, which the
      // sparse triangular solve relies on (SparseQR's R is not sorted).
      const Eigen::SparseMatrix<double, Eigen::RowMajor> rows = R.topLeftCorner(rank, rank);
      const Eigen::SparseMatrix<double> R11 = rows;
      R11.template triangularView<Eigen::Upper>().solveInPlace(Y);
    }
    Eigen::MatrixXd Z = Eigen::MatrixXd::Zero(size, nullity);
    for (Index i = 0; i < rank; ++i) Z.row(original_column[i]) = -Y.row(i);
    for (Index i = 0; i < nullity; ++i) Z(original_column[rank + i], i) = 1.0;
    if (!Z.allFinite()) return;
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(Z);
    basis_ = qr.householderQ() * Eigen::MatrixXd::Identity(size, nullity);
    complete_ = true;
  }

  // x minus its component in null(K): the minimum-norm solution when x is a
  // least-squares one.
  void apply(Eigen::Ref<Vector> x) const {
    if (basis_.cols() > 0) x -= basis_ * (basis_.transpose() * x);
  }
  // False when the basis was too large to keep (or not finite).
  bool minimum_norm() const { return complete_; }

 private:
  Eigen::MatrixXd basis_;
  bool complete_ = false;
};

}  // namespace dqp::kkt
