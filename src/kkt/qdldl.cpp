// QDLDL (OSQP's sparse LDLᵀ), compiled from its PyPI sdist
// (cmake/Qdldl.cmake).
//
// QDLDL factors quasi-definite matrices without pivoting, in any symmetric
// order. K = [[P, Ãᵀ], [Ã, 0]] is not quasi-definite, but
//
//   K_δ = [[P + δI, Ãᵀ], [Ã, -δI]]
//
// is for any δ > 0 (P is positive semidefinite), so K_δ is factored in AMD
// order and K x = b is solved by iterative refinement against K itself:
// x ← x + K_δ⁻¹ (b - K x). The error contracts by about δ ‖K⁻¹‖ per step,
// so refinement converges for a nonsingular K and stalls for a singular one.
// A factorization whose refinement does not converge on a test right-hand
// side is reported as failed, and the core hands over to the next solver.
//
// The size of the P block is not passed in: it is read from K. Its trailing
// block K[n:, n:] is empty, and for the smallest such n every variable row
// has an entry, unless K has a zero row (and is singular, which the test
// solve reports).
#include <qdldl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "adapters.hpp"
#include "fill_reducing_order.hpp"

namespace dqp::kkt {
namespace {

using QIndex = QDLDL_int;
using QMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, QIndex>;

// δ relative to K's largest entry. Refinement contracts by δ ‖K⁻¹‖ per step,
// so condition numbers up to about 1e8 converge in a few steps; a smaller δ
// lets the rounding errors of the unpivoted factorization grow (as ‖K‖ / δ).
constexpr double kRegularization = 1e-9;
// Refinement runs until ‖b - K x‖∞ ≤ kTolerance (‖b‖∞ + ‖K x‖∞), far below
// the core's accuracy test (1e-9), or until it stops improving; it has
// converged if it then reached the rounding floor of computing K x,
// kFloor ‖K‖∞ ‖x‖∞ (an ill-conditioned K with a huge x).
constexpr double kTolerance = 1e-13;
constexpr double kFloor = 2 * std::numeric_limits<double>::epsilon();
constexpr int kMaxRefinement = 30;

// One past the last variable row: the smallest n with K[n:, n:] empty.
Index primal_size(const KKTSparse& K) {
  Index n = 0;
  for (Index j = 0; j < K.outerSize(); ++j)
    for (KKTSparse::InnerIterator it(K, j); it; ++it)
      if (it.value() != 0.0) n = std::max<Index>(n, std::min<Index>(it.row(), j) + 1);
  return n;
}

class QdldlFactorization final : public KKTFactorization {
 public:
  explicit QdldlFactorization(const KKTSparse& K) : K_(K), size_(K.rows()) {
    K_.makeCompressed();
    const double largest = K_.nonZeros() > 0 ? K_.coeffs().cwiseAbs().maxCoeff() : 0.0;
    const double delta = kRegularization * std::max(1.0, largest);
    // K is symmetric: its largest column sum is ‖K‖∞.
    for (Index j = 0; j < size_; ++j) norm_ = std::max(norm_, K_.col(j).cwiseAbs().sum());
    if (size_ == 0) {
      factored_ = true;
      return;
    }
    const Index primal = primal_size(K_);

    const std::vector<int> order = fill_reducing_order(K_);
    order_.resize(size_);
    position_.resize(size_);
    for (Index k = 0; k < size_; ++k) {
      order_[k] = order[k];
      position_[order_[k]] = k;
    }

    // The upper triangle of the permuted K_δ, which is what QDLDL reads.
    std::vector<Eigen::Triplet<double, QIndex>> triplets;
    triplets.reserve(K_.nonZeros() / 2 + size_);
    for (Index j = 0; j < size_; ++j) {
      triplets.emplace_back(position_[j], position_[j], j < primal ? delta : -delta);
      for (KKTSparse::InnerIterator it(K_, j); it; ++it) {
        const QIndex row = position_[it.row()], col = position_[j];
        if (row <= col) triplets.emplace_back(row, col, it.value());
      }
    }
    QMatrix upper(size_, size_);
    upper.setFromTriplets(triplets.begin(), triplets.end());
    upper.makeCompressed();

    const QIndex n = static_cast<QIndex>(size_);
    std::vector<QIndex> work(size_), nonzeros(size_), etree(size_);
    const QIndex count = QDLDL_etree(n, upper.outerIndexPtr(), upper.innerIndexPtr(), work.data(),
                                     nonzeros.data(), etree.data());
    if (count < 0) return;
    Lp_.resize(size_ + 1);
    Li_.resize(std::max<QIndex>(count, 1));
    Lx_.resize(std::max<QIndex>(count, 1));
    Dinv_.resize(size_);
    std::vector<double> D(size_), fwork(size_);
    std::vector<QDLDL_bool> bwork(size_);
    std::vector<QIndex> iwork(3 * size_);
    const QIndex positive =
        QDLDL_factor(n, upper.outerIndexPtr(), upper.innerIndexPtr(), upper.valuePtr(), Lp_.data(),
                     Li_.data(), Lx_.data(), D.data(), Dinv_.data(), nonzeros.data(),
                     etree.data(), bwork.data(), iwork.data(), fwork.data());
    if (positive < 0) return;
    factored_ = true;
  }

  // Refinement converges on a right-hand side with a component in every
  // direction (K x = b with b outside K's range when K is singular).
  bool ok() const {
    if (!factored_) return false;
    Vector b(size_);
    for (Index i = 0; i < size_; ++i) b[i] = 1.0 + 0.5 * std::sin(static_cast<double>(i) + 1.0);
    return refine(b);
  }

  void solve(Eigen::Ref<Vector> rhs) const override { refine(rhs); }

 private:
  // x ← K_δ⁻¹ x, in place.
  void regularized_solve(Vector& x) const {
    Vector permuted(size_);
    for (Index k = 0; k < size_; ++k) permuted[k] = x[order_[k]];
    QDLDL_solve(static_cast<QIndex>(size_), Lp_.data(), Li_.data(), Lx_.data(), Dinv_.data(),
                permuted.data());
    for (Index k = 0; k < size_; ++k) x[order_[k]] = permuted[k];
  }

  // Overwrites b with the refined solution (the best iterate); true when the
  // residual reached the tolerance, or the rounding floor once refinement
  // stopped improving.
  bool refine(Eigen::Ref<Vector> b) const {
    const Vector rhs = b;
    const auto largest = [](const Vector& v) { return v.size() > 0 ? v.cwiseAbs().maxCoeff() : 0.0; };
    Vector x = rhs;
    regularized_solve(x);
    Vector residual = rhs - K_ * x;
    double error = largest(residual);
    const double tolerance = kTolerance * (largest(rhs) + largest(rhs - residual));
    for (int step = 0; step < kMaxRefinement && error > tolerance; ++step) {
      Vector candidate = residual;
      regularized_solve(candidate);
      candidate += x;
      Vector next_residual = rhs - K_ * candidate;
      const double next_error = largest(next_residual);
      if (!(next_error < error)) break;  // stalled
      x = std::move(candidate);
      residual = std::move(next_residual);
      error = next_error;
    }
    b = x;
    return std::isfinite(error) && (error <= tolerance || error <= kFloor * norm_ * largest(x));
  }

  KKTSparse K_;
  Index size_;
  double norm_ = 0.0;  // ‖K‖∞
  std::vector<Index> order_, position_;  // position_[order_[k]] = k
  std::vector<QIndex> Lp_, Li_;
  std::vector<double> Lx_, Dinv_;
  bool factored_ = false;
};

class Qdldl final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"qdldl", false, true, false,
            "sparse LDL^T of the regularized K, AMD ordering, iterative refinement (QDLDL)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    auto factorization = std::make_unique<QdldlFactorization>(K);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_qdldl() { return std::make_unique<Qdldl>(); }

}  // namespace dqp::kkt
