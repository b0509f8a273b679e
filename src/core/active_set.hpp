// Choosing and refining the active set.
#pragma once

#include <vector>

#include "dqp/problem.hpp"
#include "dqp/settings.hpp"

namespace dqp::core {

// Rows i with residual[i] < eps_active, ascending. The test is one-sided:
// violated rows count as active.
std::vector<Index> active_rows(const Vector& residual, double eps_active);

// The refinement heuristic: order rows by residual; starting from the current
// active set, add the next row while the combined residual of "these rows are
// active" (their primal residuals and the stationarity residual of the best
// duals) keeps falling; stop below eps_active; undo the last row if it made
// things worse. Only ever adds rows.
template <class Problem>
std::vector<Index> refine_active_rows(const Problem& qp, const Vector& z, const Vector& residual,
                                      std::vector<Index> active, const Settings& settings);

}  // namespace dqp::core
