// The worst violation of the KKT conditions of min ½zᵀPz + qᵀz s.t. Cz ≤ d,
// Az = b at (z, λ, μ): stationarity, primal feasibility, dual sign and
// complementarity, in the problem's own units (Solution::kkt_residual); and
// a relative version for the solver chain (is an "optimal" answer good
// enough, or should the next solver try?).
#pragma once

#include <algorithm>

#include "dqp/types.hpp"

namespace dqp::core {

// d - C z, with 0 for rows whose bound is +inf: such a row never binds, and
// its zero dual times an infinite slack must not make a NaN.
template <class Problem>
Vector finite_slack(const Problem& qp, const Vector& z) {
  const Vector slack = qp.d - qp.C * z;
  return slack.array().isFinite().select(slack.array(), 0.0).matrix();
}

template <class Problem>
double kkt_residual(const Problem& qp, const Vector& z, const Vector& lam, const Vector& mu) {
  double worst = 0.0;
  Vector stationarity = qp.P * z + qp.q;
  if (qp.m() > 0) {
    stationarity += qp.C.transpose() * mu;
    const Vector slack = finite_slack(qp, z);
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

// The same conditions, each relative to the size of its own terms (with a
// floor of 1): stationarity against max(|Pz|, |q|, |Cᵀμ|, |Aᵀλ|), feasibility
// against max(|Cz|, |d|, |Az|, |b|), the dual sign and complementarity against
// |μ| (and the slacks). Large duals (HUESTIS: λ ~ 1e9 on rows of size 1e-4)
// make an absolute residual meaningless; this one is not.
template <class Problem>
double relative_kkt_residual(const Problem& qp, const Vector& z, const Vector& lam,
                             const Vector& mu) {
  auto size = [](const Vector& v) { return v.size() > 0 ? v.cwiseAbs().maxCoeff() : 0.0; };
  const Vector Pz = qp.P * z;
  Vector stationarity = Pz + qp.q;
  double terms = std::max(size(Pz), size(qp.q));
  double primal = 0.0, primal_terms = 0.0, worst = 0.0;
  const double mu_size = size(mu);
  if (qp.m() > 0) {
    const Vector Ctmu = qp.C.transpose() * mu;
    stationarity += Ctmu;
    terms = std::max(terms, size(Ctmu));
    const Vector Cz = qp.C * z;
    const Vector slack = finite_slack(qp, z);
    primal = std::max(primal, (-slack).cwiseMax(0.0).maxCoeff());
    primal_terms = std::max({primal_terms, size(Cz), size(Vector(qp.d.array().isFinite().select(qp.d.array(), 0.0)))});
    worst = std::max(worst, (-mu).cwiseMax(0.0).maxCoeff() / (1.0 + mu_size));
    worst = std::max(worst, (mu.array() * slack.array()).abs().maxCoeff() /
                                (1.0 + mu_size * (1.0 + size(slack))));
  }
  if (qp.p() > 0) {
    const Vector Atlam = qp.A.transpose() * lam;
    stationarity += Atlam;
    terms = std::max(terms, size(Atlam));
    const Vector Az = qp.A * z;
    primal = std::max(primal, (Az - qp.b).cwiseAbs().maxCoeff());
    primal_terms = std::max({primal_terms, size(Az), size(qp.b)});
  }
  worst = std::max(worst, primal / (1.0 + primal_terms));
  return std::max(worst, size(stationarity) / (1.0 + terms));
}

}  // namespace dqp::core
