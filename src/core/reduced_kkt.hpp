// The reduced KKT system of a solution, factored once and reused by dual
// recovery, polishing and every backward pass.
//
//   K = [[P, Ãᵀ], [Ã, 0]],  Ã = [A; C_J].
//
// Rows of Ã enter K scaled by row_scale (T = diag(I, row_scale)), so the
// factored matrix is K̂ = T K T and K⁻¹ = T K̂⁻¹ T. With normalization off the
// scale is one.
//
// Solves are refined against K̂ itself (x ← x + F⁻¹(b − K̂x), while the
// residual shrinks): a pivoted LU with threshold pivoting (KLU) or an
// unpivoted LDLᵀ can leave 1e-10 relative errors on an indefinite K, which
// finite differences of the gradients see.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dqp/kkt_solver.hpp"
#include "dqp/types.hpp"

namespace dqp {

// x ↦ K̂ x, and ‖K̂‖∞: what refinement needs of the factored matrix.
struct KKTProduct {
  std::function<Vector(const Vector&)> times;
  double norm = 0.0;
};

class ReducedKKT {
 public:
  ReducedKKT(Index n, Index p, std::vector<Index> active, Vector row_scale,
             std::unique_ptr<KKTFactorization> factor, std::string solver_name,
             bool least_squares, KKTProduct product = {})
      : n_(n), p_(p), active_(std::move(active)), row_scale_(std::move(row_scale)),
        factor_(std::move(factor)), solver_name_(std::move(solver_name)),
        least_squares_(least_squares), product_(std::move(product)) {}

  Index n() const { return n_; }
  Index p() const { return p_; }
  Index size() const { return n_ + p_ + static_cast<Index>(active_.size()); }
  const std::vector<Index>& active() const { return active_; }
  const std::string& solver_name() const { return solver_name_; }
  bool least_squares() const { return least_squares_; }
  const Vector& row_scale() const { return row_scale_; }
  bool rank_deficient() const { return factor_->rank_deficient(); }

  // K⁻¹ rhs, or a least-squares solution when K is singular.
  Vector solve(Vector rhs) const {
    rhs.tail(row_scale_.size()).array() *= row_scale_.array();
    if (product_.times && !least_squares_)
      refined_solve(rhs);
    else
      factor_->solve(rhs);
    rhs.tail(row_scale_.size()).array() *= row_scale_.array();
    return rhs;
  }

 private:
  static constexpr int kMaxRefinement = 3;

  void refined_solve(Vector& b) const {
    const Vector target = b;
    factor_->solve(b);
    if (target.size() == 0) return;
    Vector residual = target - product_.times(b);
    double size = residual.cwiseAbs().maxCoeff();
    const double b_size = target.cwiseAbs().maxCoeff();
    for (int step = 0; step < kMaxRefinement; ++step) {
      // The rounding floor of computing K̂ x: no step can go below it.
      const double floor = 4 * std::numeric_limits<double>::epsilon() *
                           (b_size + product_.norm * b.cwiseAbs().maxCoeff());
      if (!(size > floor)) break;
      Vector correction = residual;
      factor_->solve(correction);
      Vector next = b + correction;
      Vector next_residual = target - product_.times(next);
      const double next_size = next_residual.cwiseAbs().maxCoeff();
      if (!(next_size < size)) break;
      b = std::move(next);
      residual = std::move(next_residual);
      size = next_size;
    }
  }

  Index n_, p_;
  std::vector<Index> active_;
  Vector row_scale_;
  std::unique_ptr<KKTFactorization> factor_;
  std::string solver_name_;
  bool least_squares_;
  KKTProduct product_;
};

}  // namespace dqp
