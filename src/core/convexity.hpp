// The cheap convexity test every forward pass makes. A QP whose P has
// negative curvature has no minimum a solver can certify: the point it stops
// at is a saddle (P = diag(1, -1, 1) with z >= 0 came back "optimal"), so
// such a problem is reported as Status::NonConvex and never solved.
// Settings::check_psd remains the full check that raises with the smallest
// eigenvalue.
#pragma once

#include "dqp/types.hpp"

namespace dqp::core {

// δ = 1e-5 · ‖P‖∞: negative eigenvalues above -δ are taken for the
// rounding of a PSD matrix (data stored with six significant digits).
double negative_curvature_tolerance(const DenseView& P);
double negative_curvature_tolerance(const SparseView& P);

// True when P has an eigenvalue at or below -δ: one Cholesky (dense) or LDLᵀ
// (sparse) factorization of P + δI.
bool has_negative_curvature(const DenseView& P);
bool has_negative_curvature(const SparseView& P);

}  // namespace dqp::core
