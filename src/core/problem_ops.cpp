#include "problem_ops.hpp"

#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <Eigen/SparseQR>

namespace dqp::core {
namespace {

using Triplet = Eigen::Triplet<double, int>;

// Rows of Ã = [A; C_rows] enter K at offset n; position k of Ã is A's row k
// for k < p, else C's row rows[k - p].
template <class Visit>
void for_each_constraint_entry(const SparseView& A, const SparseView& C,
                               const std::vector<Index>& rows, Visit&& visit) {
  for (Index j = 0; j < A.outerSize(); ++j)
    for (SparseView::InnerIterator it(A, j); it; ++it) visit(it.row(), j, it.value());
  std::vector<Index> position(C.rows(), -1);
  for (std::size_t k = 0; k < rows.size(); ++k) position[rows[k]] = static_cast<Index>(k);
  const Index p = A.rows();
  for (Index j = 0; j < C.outerSize(); ++j)
    for (SparseView::InnerIterator it(C, j); it; ++it)
      if (position[it.row()] >= 0) visit(p + position[it.row()], j, it.value());
}

Eigen::MatrixXd stacked_rows(const DenseProblem& qp, const std::vector<Index>& rows) {
  const Index p = qp.p(), n = qp.n();
  Eigen::MatrixXd At(p + static_cast<Index>(rows.size()), n);
  if (p > 0) At.topRows(p) = qp.A;
  for (std::size_t k = 0; k < rows.size(); ++k) At.row(p + k) = qp.C.row(rows[k]);
  return At;
}

}  // namespace

std::vector<Index> finite_rows(const VectorView& d) {
  std::vector<Index> rows;
  rows.reserve(d.size());
  for (Index i = 0; i < d.size(); ++i)
    if (std::isfinite(d[i])) rows.push_back(i);
  return rows;
}

double finite_max_abs(const VectorView& d) {
  double largest = 0.0;
  for (Index i = 0; i < d.size(); ++i)
    if (std::isfinite(d[i])) largest = std::max(largest, std::abs(d[i]));
  return largest;
}

DenseStorage keep_rows(const DenseProblem& qp, const std::vector<Index>& rows) {
  DenseStorage kept;
  const Index k = static_cast<Index>(rows.size());
  kept.C.resize(k, qp.n());
  kept.d.resize(k);
  for (Index j = 0; j < k; ++j) {
    kept.C.row(j) = qp.C.row(rows[j]);
    kept.d[j] = qp.d[rows[j]];
  }
  kept.A = qp.A;
  kept.b = qp.b;
  return kept;
}

SparseStorage keep_rows(const SparseProblem& qp, const std::vector<Index>& rows) {
  SparseStorage kept;
  const Index k = static_cast<Index>(rows.size());
  // Row selection as a product with a k x m 0/1 matrix.
  SparseMatrix select(k, qp.m());
  std::vector<Eigen::Triplet<double, Index>> ones;
  ones.reserve(rows.size());
  for (Index j = 0; j < k; ++j) ones.emplace_back(j, rows[j], 1.0);
  select.setFromTriplets(ones.begin(), ones.end());
  kept.C = select * qp.C;
  kept.d.resize(k);
  for (Index j = 0; j < k; ++j) kept.d[j] = qp.d[rows[j]];
  kept.A = qp.A;
  kept.b = qp.b;
  return kept;
}

FullWidth::FullWidth(const DenseProblem& qp) {
  const Index n = qp.n();
  auto widen = [n](const DenseView& M) {
    return M.rows() == 0 && M.cols() != n ? DenseView(Eigen::Map<const RowMatrix>(nullptr, 0, n)) : M;
  };
  dense_.emplace(DenseProblem{qp.P, qp.q, widen(qp.C), qp.d, widen(qp.A), qp.b});
}

FullWidth::FullWidth(const SparseProblem& qp) : zeros_(qp.n() + 1, 0) {
  const Index n = qp.n();
  auto widen = [n, this](const SparseView& M) {
    return M.rows() == 0 && M.cols() != n
               ? SparseView(0, n, 0, zeros_.data(), zeros_.data(), static_cast<const double*>(nullptr))
               : M;
  };
  sparse_.emplace(SparseProblem{qp.P, qp.q, widen(qp.C), qp.d, widen(qp.A), qp.b});
}

Vector row_norms(const DenseView& M) { return M.rowwise().norm(); }

Vector row_norms(const SparseView& M) {
  Vector squares = Vector::Zero(M.rows());
  for (Index j = 0; j < M.outerSize(); ++j)
    for (SparseView::InnerIterator it(M, j); it; ++it) squares[it.row()] += it.value() * it.value();
  return squares.cwiseSqrt();
}

Vector row_scale(const Vector& norms, const Settings& settings) {
  if (!settings.normalize_constraints) return Vector::Ones(norms.size());
  return norms.unaryExpr([&](double norm) { return norm < settings.normalize_floor ? 1.0 : 1.0 / norm; });
}

RowMatrix scale_rows(const DenseView& M, const Vector& scale) {
  if (M.rows() == 0) return RowMatrix(M);
  return scale.asDiagonal() * M;
}

SparseMatrix scale_rows(const SparseView& M, const Vector& scale) {
  SparseMatrix scaled = M;
  for (Index j = 0; j < scaled.outerSize(); ++j)
    for (SparseMatrix::InnerIterator it(scaled, j); it; ++it) it.valueRef() *= scale[it.row()];
  scaled.makeCompressed();
  return scaled;
}

KKTDense assemble_kkt(const DenseProblem& qp, const std::vector<Index>& active,
                      const Vector& row_scale) {
  const Index n = qp.n();
  const Eigen::MatrixXd At = row_scale.asDiagonal() * stacked_rows(qp, active);
  const Index k = At.rows();
  KKTDense K = KKTDense::Zero(n + k, n + k);
  K.topLeftCorner(n, n) = qp.P;
  K.bottomLeftCorner(k, n) = At;
  K.topRightCorner(n, k) = At.transpose();
  return K;
}

KKTSparse assemble_kkt(const SparseProblem& qp, const std::vector<Index>& active,
                       const Vector& row_scale) {
  const Index n = qp.n();
  const Index k = qp.p() + static_cast<Index>(active.size());
  std::vector<Triplet> triplets;
  triplets.reserve(qp.P.nonZeros() + 2 * (qp.A.nonZeros() + qp.C.nonZeros()));
  for (Index j = 0; j < qp.P.outerSize(); ++j)
    for (SparseView::InnerIterator it(qp.P, j); it; ++it)
      triplets.emplace_back(static_cast<int>(it.row()), static_cast<int>(j), it.value());
  for_each_constraint_entry(qp.A, qp.C, active, [&](Index row, Index col, double value) {
    const double scaled = row_scale[row] * value;
    triplets.emplace_back(static_cast<int>(n + row), static_cast<int>(col), scaled);
    triplets.emplace_back(static_cast<int>(col), static_cast<int>(n + row), scaled);
  });
  KKTSparse K(n + k, n + k);
  K.setFromTriplets(triplets.begin(), triplets.end());
  K.makeCompressed();
  return K;
}

LeastSquares solve_dual_least_squares(const DenseProblem& qp, const std::vector<Index>& rows,
                                      const Vector& g) {
  const Eigen::MatrixXd AtT = stacked_rows(qp, rows).transpose();
  LeastSquares out;
  if (AtT.cols() == 0) {
    out.residual = g.norm();
    return out;
  }
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(AtT);
  out.y = cod.solve(-g);
  out.residual = (AtT * out.y + g).norm();
  return out;
}

LeastSquares solve_dual_least_squares(const SparseProblem& qp, const std::vector<Index>& rows,
                                      const Vector& g) {
  const Index n = qp.n();
  const Index k = qp.p() + static_cast<Index>(rows.size());
  LeastSquares out;
  if (k == 0) {
    out.residual = g.norm();
    return out;
  }
  std::vector<Triplet> triplets;
  for_each_constraint_entry(qp.A, qp.C, rows, [&](Index row, Index col, double value) {
    triplets.emplace_back(static_cast<int>(col), static_cast<int>(row), value);
  });
  Eigen::SparseMatrix<double> AtT(n, k);
  AtT.setFromTriplets(triplets.begin(), triplets.end());
  AtT.makeCompressed();
  Eigen::SparseQR<Eigen::SparseMatrix<double>, Eigen::COLAMDOrdering<int>> qr(AtT);
  out.y = qr.solve(Vector(-g));
  out.residual = (AtT * out.y + g).norm();
  return out;
}

}  // namespace dqp::core
