// Block elimination on the Schur complement, for a positive definite P:
//
//   K = [[P, Ãᵀ], [Ã, 0]],   P = L Lᵀ,   W = L⁻¹ Ãᵀ,   S = Ã P⁻¹ Ãᵀ = Wᵀ W,
//
// two Cholesky factorizations (n³/3 + k³/3 flops, against LU's 2(n+k)³/3),
// and K [x; y] = [r; s] is solved by
//
//   u = L⁻¹ r,   y = S⁻¹ (Wᵀ u - s),   x = L⁻ᵀ (u - W y).
//
// Refused (the core falls back to a pivoted factorization) when P is not
// positive definite, when S is not (Ã rank deficient), or when the solve is
// not accurate on a test right-hand side, even refined as ReducedKKT refines
// its solves: a P close to singular makes the Schur complement lose what K
// itself still determines.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "adapters.hpp"
#include "primal_size.hpp"

namespace dqp::kkt {
namespace {

// A solve on the test right-hand side must satisfy K x = b to this relative
// accuracy, well below the core's own check (1e-9).
constexpr double kAccuracy = 1e-11;
// Refinement steps the test may take: those of ReducedKKT's refined solves.
constexpr int kRefinementSteps = 3;

// diag(L)² spans the pivots of the Cholesky factorization; a ratio below the
// singular-pivot threshold means the matrix is numerically singular.
bool tiny_pivot(const KKTDense& L) {
  if (L.rows() == 0) return false;
  const Vector d = L.diagonal().cwiseAbs2();
  return !(d.minCoeff() > kSingularPivot * d.maxCoeff());
}

class SchurLLTFactorization final : public KKTFactorization {
 public:
  SchurLLTFactorization(const KKTDense& K, Index n) : n_(n), k_(K.rows() - n) {
    if (n_ == 0) {  // no variables: rows alone make K singular
      ok_ = k_ == 0;
      return;
    }
    const Eigen::LLT<KKTDense> P(K.topLeftCorner(n_, n_));
    if (P.info() != Eigen::Success) return;
    L_ = P.matrixL();
    if (tiny_pivot(L_)) return;
    // Eigen's triangular solves index into their operands even when these
    // are empty (UBSan: a reference to a null pointer): no rows, no Schur part.
    if (k_ > 0) {
      W_ = K.bottomLeftCorner(k_, n_).transpose();
      L_.triangularView<Eigen::Lower>().solveInPlace(W_);
      const Eigen::LLT<KKTDense> S(W_.transpose() * W_);
      if (S.info() != Eigen::Success) return;
      LS_ = S.matrixL();
      if (tiny_pivot(LS_)) return;
    }
    ok_ = accurate(K);
  }

  bool ok() const { return ok_; }

  // Reads only the factors: concurrent solves on one factorization are safe.
  void solve(Eigen::Ref<Vector> rhs) const override {
    if (n_ == 0) return;  // then k_ = 0 too (a regular K): nothing to solve
    Vector u = rhs.head(n_);
    L_.triangularView<Eigen::Lower>().solveInPlace(u);
    if (k_ > 0) {
      Vector y = W_.transpose() * u - rhs.tail(k_);
      LS_.triangularView<Eigen::Lower>().solveInPlace(y);
      LS_.triangularView<Eigen::Lower>().transpose().solveInPlace(y);
      u -= W_ * y;
      rhs.tail(k_) = y;
    }
    L_.triangularView<Eigen::Lower>().transpose().solveInPlace(u);
    rhs.head(n_) = u;
  }

 private:
  // Solves with this factorization are refined against K (ReducedKKT), so
  // the test right-hand side is refined the same way, with as many steps: a
  // Schur complement that loses a few digits to a badly conditioned P still
  // gives refined solves to full accuracy (it did for 48 of the 128 problems
  // of the batch benchmark, which went to LU at twice the flops), while one
  // that loses them all stays refused.
  bool accurate(const KKTDense& K) const {
    const Index size = n_ + k_;
    Vector b(size);
    // Any fixed right-hand side without structure K could hide behind.
    for (Index i = 0; i < size; ++i) b[i] = 1.0 + 1.0 / static_cast<double>(i + 2);
    Vector x = b;
    solve(x);
    for (int step = 0;; ++step) {
      if (!x.allFinite()) return false;
      const Vector residual = b - K.selfadjointView<Eigen::Lower>() * x;
      const double scale = b.cwiseAbs().maxCoeff() + (b - residual).cwiseAbs().maxCoeff();
      if (residual.cwiseAbs().maxCoeff() <= kAccuracy * scale) return true;
      if (step == kRefinementSteps) return false;
      Vector correction = residual;
      solve(correction);
      x += correction;
    }
  }

  Index n_, k_;
  KKTDense L_, W_, LS_;
  bool ok_ = false;
};

class SchurLLT final : public LinearSolver {
 public:
  using LinearSolver::factorize;
  using LinearSolver::factorize_kkt;
  LinearSolverInfo info() const override {
    return {"schur_llt", true, false, false,
            "Cholesky of P and of the Schur complement A P^-1 A^T, block elimination; "
            "positive definite P only (Eigen)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTDense& K) const override {
    return factorize_kkt(K, primal_size(K));
  }
  std::unique_ptr<KKTFactorization> factorize_kkt(const KKTDense& K, Index n) const override {
    if (n < 0 || n > K.rows() || K.rows() != K.cols())
      throw std::invalid_argument("schur_llt: P block of size " + std::to_string(n) +
                                  " does not fit a K of size " + std::to_string(K.rows()));
    auto factorization = std::make_unique<SchurLLTFactorization>(K, n);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_schur_llt() { return std::make_unique<SchurLLT>(); }

}  // namespace dqp::kkt
