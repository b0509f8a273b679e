// K⁻¹ on a given active set: the factorization of the forward pass
// (factor_reduced_kkt with the same scaling and chain), and the backward
// pass's guard: a solve that misses its right-hand side is redone by least
// squares rather than returned inaccurate.
#include "dqp/active_set_solve.hpp"

#include <stdexcept>
#include <string>

#include "kkt_assembly.hpp"
#include "problem_ops.hpp"

namespace dqp {
namespace {

template <class Problem>
void solve_impl(const Problem& given, const std::vector<Index>& active, const Settings& settings,
                Eigen::Ref<Eigen::MatrixXd> rhs) {
  const core::FullWidth full(given);
  const Problem& qp = core::view(full, given);
  const Index n = qp.n(), p = qp.p(), m = qp.m(), k = static_cast<Index>(active.size());
  if (rhs.rows() != n + p + m)
    throw std::invalid_argument("rhs must have n + p + m = " + std::to_string(n + p + m) +
                                " rows, got " + std::to_string(rhs.rows()));
  for (Index i = 0; i < k; ++i)
    if (active[i] < 0 || active[i] >= m || (i > 0 && active[i] <= active[i - 1]))
      throw std::invalid_argument("active must hold ascending row indices of C in [0, " +
                                  std::to_string(m) + ")");
  if (rhs.cols() == 0) return;

  const Vector scale_C = core::row_scale(core::row_norms(qp.C), settings);
  const Vector scale_A = core::row_scale(core::row_norms(qp.A), settings);
  Vector scale(p + k);
  scale.head(p) = scale_A;
  for (Index i = 0; i < k; ++i) scale[p + i] = scale_C[active[i]];
  // As in the forward pass: more active rows than variables make K singular.
  auto kkt = core::factor_reduced_kkt(qp, active, scale, settings, p + k > n);
  std::shared_ptr<ReducedKKT> least_squares;

  Vector reduced(n + p + k);
  for (Index column = 0; column < rhs.cols(); ++column) {
    auto full_rhs = rhs.col(column);
    reduced.head(n + p) = full_rhs.head(n + p);
    for (Index i = 0; i < k; ++i) reduced[n + p + i] = full_rhs[n + p + active[i]];
    Vector x = kkt->solve(reduced);
    if (!kkt->least_squares() && !core::solves_accurately(qp, active, x, reduced)) {
      if (!least_squares) least_squares = core::factor_reduced_kkt(qp, active, scale, settings, true);
      x = least_squares->solve(reduced);
    }
    full_rhs.head(n + p) = x.head(n + p);
    for (Index i = 0; i < k; ++i) full_rhs[n + p + active[i]] = x[n + p + i];
  }
}

}  // namespace

void solve_on_active_set(const DenseProblem& qp, const std::vector<Index>& active,
                         const Settings& settings, Eigen::Ref<Eigen::MatrixXd> rhs) {
  solve_impl(qp, active, settings, rhs);
}

void solve_on_active_set(const SparseProblem& qp, const std::vector<Index>& active,
                         const Settings& settings, Eigen::Ref<Eigen::MatrixXd> rhs) {
  solve_impl(qp, active, settings, rhs);
}

}  // namespace dqp
