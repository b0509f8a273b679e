#include "convexity.hpp"

#include <Eigen/Cholesky>
#include <Eigen/SparseCholesky>

#include <cmath>

namespace dqp::core {
namespace {

// Relative size of the negative curvature that counts, against ‖P‖∞ (the
// largest absolute row sum, a bound on every |eigenvalue|). Problem data is
// often stored with about six significant digits: Maros–Meszaros VALUES
// (entries to 1e-6, ~37 per row) has eigenvalues down to -1.3e-5 against
// ‖P‖∞ = 10.9, i.e. -1.2e-6 relative — a rounded PSD matrix, not a saddle.
// 1e-5 leaves that an order of magnitude of room and still catches any
// curvature a modeller means.
constexpr double kRelativeShift = 1e-5;

}  // namespace

double negative_curvature_tolerance(const DenseView& P) {
  if (P.rows() == 0) return 0.0;
  return kRelativeShift * P.cwiseAbs().rowwise().sum().maxCoeff();
}

double negative_curvature_tolerance(const SparseView& P) {
  if (P.rows() == 0 || P.nonZeros() == 0) return 0.0;
  // Column sums of |P| are its row sums (P is symmetric, checked before).
  Vector sums = Vector::Zero(P.cols());
  for (Index j = 0; j < P.outerSize(); ++j)
    for (SparseView::InnerIterator it(P, j); it; ++it) sums[j] += std::abs(it.value());
  return kRelativeShift * sums.maxCoeff();
}

bool has_negative_curvature(const DenseView& P) {
  const double shift = negative_curvature_tolerance(P);
  if (!(shift > 0.0)) return false;
  // P + δI is positive definite iff P has no eigenvalue at or below -δ, so
  // one Cholesky settles every convex P, singular ones included.
  Eigen::MatrixXd shifted = P;
  shifted.diagonal().array() += shift;
  return Eigen::LLT<Eigen::MatrixXd, Eigen::Lower>(shifted).info() != Eigen::Success;
}

bool has_negative_curvature(const SparseView& P) {
  const double shift = negative_curvature_tolerance(P);
  if (!(shift > 0.0)) return false;
  // Sylvester's law of inertia: the LDLᵀ pivots of P + δI are all positive
  // iff it is positive definite; without pivoting the factorization is
  // stable exactly in that case, so a non-positive pivot is negative curvature.
  Eigen::SparseMatrix<double> shifted = Eigen::SparseMatrix<double>(P.cast<double>());
  Eigen::SparseMatrix<double> identity(P.rows(), P.cols());
  identity.setIdentity();
  shifted += shift * identity;
  const Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(shifted);
  return ldlt.info() != Eigen::Success || ldlt.vectorD().minCoeff() <= 0.0;
}

}  // namespace dqp::core
