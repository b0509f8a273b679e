// Is a regular factorization of K = [[P, Ãᵀ], [Ã, 0]] numerically singular?
//
// Pivot tests miss it: a K can be singular to working precision while every
// pivot is of the size of K's entries (a P = L Lᵀ with unit L and
// off-diagonal -1 has cond ~ 4ⁿ and Cholesky pivots of 1), and a backward-
// stable solve has a small residual whatever the condition, so the core's
// accuracy checks miss it too. Such a K returns solutions of size ~1/σ_min
// made of rounding errors instead of the least-squares ones.
//
// The test: the reciprocal 1-norm condition number of the symmetrically
// equilibrated D K D (D_i = 1/√max_j |K_ij|, so badly scaled units are not
// mistaken for singularity), with ‖(D K D)⁻¹‖₁ = ‖D⁻¹ K⁻¹ D⁻¹‖₁ estimated by
// Hager's and Higham's method (LAPACK's dlacn2) from a few solves with the
// factorization at hand: O(nnz(factor)) each, no new factorization.
#pragma once

#include "dqp/kkt_solver.hpp"

namespace dqp::kkt {

// An estimate (a lower bound, in practice within a factor of 3) of 1 / cond₁
// of D K D; 0 when a solve is not finite. K symmetric, `factor` its
// factorization.
double equilibrated_rcond(const KKTDense& K, const KKTFactorization& factor);
double equilibrated_rcond(const KKTSparse& K, const KKTFactorization& factor);

// Below this (relative) K counts as numerically singular: the threshold the
// pivoted factorizations use for their pivots and rcond (kSingularPivot).
bool numerically_singular(const KKTDense& K, const KKTFactorization& factor);
bool numerically_singular(const KKTSparse& K, const KKTFactorization& factor);

}  // namespace dqp::kkt
