// The reduced KKT system of a solution, factored once and reused by dual
// recovery, polishing and every backward pass.
//
//   K = [[P, Ãᵀ], [Ã, 0]],  Ã = [A; C_J].
//
// Rows of Ã enter K scaled by row_scale (T = diag(I, row_scale)), so the
// factored matrix is K̂ = T K T and K⁻¹ = T K̂⁻¹ T. With normalization off the
// scale is one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dqp/kkt_solver.hpp"
#include "dqp/types.hpp"

namespace dqp {

class ReducedKKT {
 public:
  ReducedKKT(Index n, Index p, std::vector<Index> active, Vector row_scale,
             std::unique_ptr<KKTFactorization> factor, std::string solver_name,
             bool least_squares)
      : n_(n), p_(p), active_(std::move(active)), row_scale_(std::move(row_scale)),
        factor_(std::move(factor)), solver_name_(std::move(solver_name)),
        least_squares_(least_squares) {}

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
    factor_->solve(rhs);
    rhs.tail(row_scale_.size()).array() *= row_scale_.array();
    return rhs;
  }

 private:
  Index n_, p_;
  std::vector<Index> active_;
  Vector row_scale_;
  std::unique_ptr<KKTFactorization> factor_;
  std::string solver_name_;
  bool least_squares_;
};

}  // namespace dqp
