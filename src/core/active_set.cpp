#include "active_set.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "problem_ops.hpp"

namespace dqp::core {

std::vector<Index> active_rows(const Vector& residual, double eps_active) {
  std::vector<Index> rows;
  for (Index i = 0; i < residual.size(); ++i)
    if (residual[i] < eps_active) rows.push_back(i);
  return rows;
}

template <class Problem>
std::vector<Index> refine_active_rows(const Problem& qp, const Vector& z, const Vector& residual,
                                      std::vector<Index> active, const Settings& settings) {
  const Index m = residual.size();
  std::vector<Index> order(m);
  std::iota(order.begin(), order.end(), Index{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](Index a, Index b) { return residual[a] < residual[b]; });
  const Vector gradient = qp.P * z + qp.q;

  // The one-sided threshold makes the current active set a prefix of `order`.
  std::size_t k = active.size();
  double previous = 1e10;
  while (true) {
    std::vector<Index> rows(order.begin(), order.begin() + k);
    std::sort(rows.begin(), rows.end());
    double primal = 0.0;
    for (Index i : rows) primal += residual[i] * residual[i];
    const double stationarity = solve_dual_least_squares(qp, rows, gradient).residual;
    const double combined = std::sqrt(primal + stationarity * stationarity);
    if (combined < settings.eps_active) return rows;
    if (combined >= previous) {
      rows.assign(order.begin(), order.begin() + (k - 1));
      std::sort(rows.begin(), rows.end());
      return rows;
    }
    previous = combined;
    if (k == static_cast<std::size_t>(m)) return rows;
    ++k;
  }
}

template std::vector<Index> refine_active_rows(const DenseProblem&, const Vector&, const Vector&,
                                               std::vector<Index>, const Settings&);
template std::vector<Index> refine_active_rows(const SparseProblem&, const Vector&, const Vector&,
                                               std::vector<Index>, const Settings&);

}  // namespace dqp::core
