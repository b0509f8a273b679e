// Solves with the reduced KKT matrix of a problem on a given active set,
// factored exactly as the forward pass factors it (same linear-solver chain,
// same row scaling, least squares when the set makes K singular). Front ends
// that cannot keep a forward Solution alive between calls (JAX's pure
// callbacks) apply K⁻¹ through this.
//
// Right-hand sides are full width, n + p + m rows ordered [z; λ; μ]: the rows
// of μ outside the active set pass through unchanged (the system is extended
// by an identity block there, which keeps it symmetric and of fixed size).
#pragma once

#include <vector>

#include "dqp/problem.hpp"
#include "dqp/settings.hpp"
#include "dqp/types.hpp"

namespace dqp {

// Overwrites each column of rhs ((n + p + m) x r) with K⁻¹ rhs, K the
// extended reduced KKT matrix of qp on `active` (ascending rows of C). Only
// qp's matrices are read. Throws std::invalid_argument on sizes or indices
// out of range.
void solve_on_active_set(const DenseProblem& qp, const std::vector<Index>& active,
                         const Settings& settings, Eigen::Ref<Eigen::MatrixXd> rhs);
void solve_on_active_set(const SparseProblem& qp, const std::vector<Index>& active,
                         const Settings& settings, Eigen::Ref<Eigen::MatrixXd> rhs);

}  // namespace dqp
