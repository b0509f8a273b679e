#include "convexity.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SparseCholesky>

#include <algorithm>

namespace dqp::core {
namespace {

// Relative size of the negative curvature that counts. Well above the
// rounding of a factorization (n · 1e-16 · |P|) and well below any curvature
// a modeller means.
constexpr double kRelativeShift = 1e-9;

}  // namespace

bool has_negative_curvature(const DenseView& P) {
  if (P.rows() == 0) return false;
  const double scale = P.cwiseAbs().maxCoeff();
  if (!(scale > 0.0)) return false;
  // P + δI is positive definite iff P has no eigenvalue at or below -δ, so
  // one Cholesky settles every convex P, singular ones included.
  Eigen::MatrixXd shifted = P;
  shifted.diagonal().array() += kRelativeShift * scale;
  if (Eigen::LLT<Eigen::MatrixXd, Eigen::Lower>(shifted).info() == Eigen::Success) return false;
  // It failed: P is indefinite, or within rounding of the shift. The
  // eigenvalues decide, against their own size.
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd(P), Eigen::EigenvaluesOnly);
  const Vector& values = eig.eigenvalues();
  return values.minCoeff() < -kRelativeShift * std::max(scale, values.cwiseAbs().maxCoeff());
}

bool has_negative_curvature(const SparseView& P) {
  if (P.rows() == 0 || P.nonZeros() == 0) return false;
  const double scale = P.coeffs().cwiseAbs().maxCoeff();
  if (!(scale > 0.0)) return false;
  // Sylvester's law of inertia: the LDLᵀ pivots of P + δI are all positive
  // iff it is positive definite; without pivoting the factorization is
  // stable exactly in that case, so a non-positive pivot is negative curvature.
  Eigen::SparseMatrix<double> shifted = Eigen::SparseMatrix<double>(P.cast<double>());
  Eigen::SparseMatrix<double> identity(P.rows(), P.cols());
  identity.setIdentity();
  shifted += (kRelativeShift * scale) * identity;
  const Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(shifted);
  return ldlt.info() != Eigen::Success || ldlt.vectorD().minCoeff() <= 0.0;
}

}  // namespace dqp::core
