#include "condition_estimate.hpp"

#include <algorithm>
#include <cmath>

#include "adapters.hpp"

namespace dqp::kkt {
namespace {

// Largest |K_ij| of each column (= row: K is symmetric).
Vector column_max(const KKTDense& K) {
  Vector out = Vector::Zero(K.cols());
  for (Index j = 0; j < K.cols(); ++j)
    if (K.rows() > 0) out[j] = K.col(j).cwiseAbs().maxCoeff();
  return out;
}

Vector column_max(const KKTSparse& K) {
  Vector out = Vector::Zero(K.cols());
  for (Index j = 0; j < K.outerSize(); ++j)
    for (KKTSparse::InnerIterator it(K, j); it; ++it) out[j] = std::max(out[j], std::abs(it.value()));
  return out;
}

// ‖D K D‖₁, the largest column sum.
double scaled_norm1(const KKTDense& K, const Vector& D) {
  double norm = 0.0;
  for (Index j = 0; j < K.cols(); ++j)
    norm = std::max(norm, D[j] * K.col(j).cwiseAbs().dot(D));
  return norm;
}

double scaled_norm1(const KKTSparse& K, const Vector& D) {
  double norm = 0.0;
  for (Index j = 0; j < K.outerSize(); ++j) {
    double sum = 0.0;
    for (KKTSparse::InnerIterator it(K, j); it; ++it) sum += D[it.row()] * std::abs(it.value());
    norm = std::max(norm, D[j] * sum);
  }
  return norm;
}

// sign(v) with sign(0) = +1, as dlacn2 takes it.
Vector signs(const Vector& v) {
  return v.unaryExpr([](double x) { return x >= 0.0 ? 1.0 : -1.0; });
}

// Hager/Higham estimate of ‖B‖₁ for a symmetric B given as x ↦ B x (so the
// transpose products are products with B too). At most kIterations steps of
// the gradient ascent over the unit 1-norm ball, then the alternating
// vector, which catches the matrices the ascent stalls on. NaN when a
// product is not finite.
constexpr int kIterations = 5;

template <class Apply>
double estimate_norm1(Index size, Apply apply) {
  if (size == 0) return 0.0;
  Vector x = Vector::Constant(size, 1.0 / static_cast<double>(size));
  Vector y = apply(x);
  if (!y.allFinite()) return NAN;
  double estimate = y.lpNorm<1>();
  if (size == 1) return estimate;
  Vector sign = signs(y);
  Vector z = apply(sign);
  if (!z.allFinite()) return NAN;
  Index j = 0;
  z.cwiseAbs().maxCoeff(&j);
  for (int step = 0; step < kIterations; ++step) {
    y = apply(Vector::Unit(size, j));
    if (!y.allFinite()) return NAN;
    const double previous = estimate;
    estimate = y.lpNorm<1>();
    const Vector next_sign = signs(y);
    // Converged: the same vertex again, or no growth.
    if (next_sign == sign || estimate <= previous) {
      estimate = std::max(estimate, previous);
      break;
    }
    sign = next_sign;
    z = apply(sign);
    if (!z.allFinite()) return NAN;
    const Index previous_j = j;
    z.cwiseAbs().maxCoeff(&j);
    if (std::abs(z[j]) <= std::abs(z[previous_j])) break;
  }
  Vector alternating(size);
  for (Index i = 0; i < size; ++i)
    alternating[i] = (i % 2 == 0 ? 1.0 : -1.0) * (1.0 + static_cast<double>(i) / static_cast<double>(size - 1));
  y = apply(alternating);
  if (!y.allFinite()) return NAN;
  return std::max(estimate, 2.0 * y.lpNorm<1>() / (3.0 * static_cast<double>(size)));
}

template <class Matrix>
double rcond_impl(const Matrix& K, const KKTFactorization& factor) {
  const Index size = K.rows();
  if (size == 0) return 1.0;
  // An empty row (a zero row of C made active) keeps D_i = 1: K is then
  // exactly singular, and the estimate sees it through the solves.
  Vector D = column_max(K);
  D = D.unaryExpr([](double m) { return m > 0.0 ? 1.0 / std::sqrt(m) : 1.0; });
  const double norm = scaled_norm1(K, D);
  // (D K D)⁻¹ x = D⁻¹ K⁻¹ D⁻¹ x.
  const double inverse_norm = estimate_norm1(size, [&](const Vector& x) {
    Vector v = x.cwiseQuotient(D);
    factor.solve(v);
    return Vector(v.cwiseQuotient(D));
  });
  if (!(inverse_norm > 0.0) || !(norm > 0.0)) return 0.0;  // NaN too
  return 1.0 / (norm * inverse_norm);
}

}  // namespace

double equilibrated_rcond(const KKTDense& K, const KKTFactorization& factor) {
  return rcond_impl(K, factor);
}

double equilibrated_rcond(const KKTSparse& K, const KKTFactorization& factor) {
  return rcond_impl(K, factor);
}

bool numerically_singular(const KKTDense& K, const KKTFactorization& factor) {
  return !(equilibrated_rcond(K, factor) >= kSingularPivot);
}

bool numerically_singular(const KKTSparse& K, const KKTFactorization& factor) {
  return !(equilibrated_rcond(K, factor) >= kSingularPivot);
}

}  // namespace dqp::kkt
