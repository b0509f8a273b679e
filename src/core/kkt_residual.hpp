// The worst violation of the KKT conditions of min ½zᵀPz + qᵀz s.t. Cz ≤ d,
// Az = b at (z, λ, μ): stationarity, primal feasibility, dual sign and
// complementarity, in the problem's own units. Shared by the forward pass
// (Solution::kkt_residual) and the solver chain (is an "optimal" answer good
// enough, or should the next solver try?).
#pragma once

#include <algorithm>

#include "dqp/types.hpp"

namespace dqp::core {

template <class Problem>
double kkt_residual(const Problem& qp, const Vector& z, const Vector& lam, const Vector& mu) {
  double worst = 0.0;
  Vector stationarity = qp.P * z + qp.q;
  if (qp.m() > 0) {
    stationarity += qp.C.transpose() * mu;
    const Vector slack = qp.d - qp.C * z;
    worst = std::max(worst, (-slack).cwiseMax(0.0).maxCoeff());
    worst = std::max(worst, (mu.array() * slack.array()).abs().maxCoeff());
    worst = std::max(worst, (-mu).cwiseMax(0.0).maxCoeff());
  }
  if (qp.p() > 0) {
    stationarity += qp.A.transpose() * lam;
    worst = std::max(worst, (qp.A * z - qp.b).cwiseAbs().maxCoeff());
  }
  if (qp.n() > 0) worst = std::max(worst, stationarity.cwiseAbs().maxCoeff());
  return worst;
}

// 1 + the largest |q|, |d|, |b|: the scale residuals are judged against.
template <class Problem>
double kkt_scale(const Problem& qp) {
  double scale = 0.0;
  if (qp.n() > 0) scale = std::max(scale, qp.q.cwiseAbs().maxCoeff());
  if (qp.m() > 0) scale = std::max(scale, qp.d.cwiseAbs().maxCoeff());
  if (qp.p() > 0) scale = std::max(scale, qp.b.cwiseAbs().maxCoeff());
  return 1.0 + scale;
}

}  // namespace dqp::core
