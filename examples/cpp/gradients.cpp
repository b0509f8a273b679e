// Gradients of all six parameters, checked against central finite
// differences. For the loss L = wᵀz + vᵀλ + uᵀμ, Layer::backward takes
// (dz, dλ, dμ) = (w, v, u) and returns dL/dP, dL/dq, dL/dC, dL/dd, dL/dA,
// dL/db (or those a dqp::GradientSelection names). Exits 1 when a gradient
// is off.
#include <dqp/dqp.hpp>

#include <cmath>
#include <iostream>
#include <stdexcept>

namespace {

struct Data {
  dqp::RowMatrix P, C, A;
  dqp::Vector q, d, b;
};

const dqp::Vector w = (dqp::Vector(4) << 1.0, -2.0, 0.5, 3.0).finished();
const dqp::Vector v = (dqp::Vector(1) << 0.7).finished();
const dqp::Vector u = (dqp::Vector(4) << 0.3, -1.0, 2.0, 0.5).finished();

double loss(const dqp::Layer& layer, const Data& x) {
  const dqp::Solution s = layer.forward(dqp::DenseProblem{x.P, x.q, x.C, x.d, x.A, x.b});
  if (!dqp::is_optimal(s.status)) throw std::runtime_error("a perturbed problem failed");
  return w.dot(s.z) + v.dot(s.lam) + u.dot(s.mu);
}

}  // namespace

int main() {
  // A tilted projection of t on the simplex: minimize ½ zᵀPz - tᵀz subject
  // to z ≥ 0, Σ z = 1. One bound is active with a positive dual, the others
  // are slack: a point where the derivative exists.
  Data x;
  x.P = dqp::RowMatrix::Identity(4, 4);
  x.P(0, 1) = x.P(1, 0) = 0.2;
  x.q = -(dqp::Vector(4) << 0.8, 0.5, -0.3, 0.1).finished();
  x.C = -dqp::RowMatrix::Identity(4, 4);
  x.d = dqp::Vector::Zero(4);
  x.A = dqp::RowMatrix::Ones(1, 4);
  x.b = dqp::Vector::Ones(1);

  const dqp::Layer layer;
  const dqp::DenseProblem problem{x.P, x.q, x.C, x.d, x.A, x.b};
  const dqp::Solution s = layer.forward(problem);
  if (!s.differentiable()) return 1;
  const dqp::DenseGradients g = layer.backward(problem, s, w, v, u);

  // Central differences, one entry at a time; P symmetrically (its pairs).
  const double h = 1e-6;
  double worst = 0.0;
  auto check = [&](const char* name, double analytic, auto perturb) {
    Data plus = x, minus = x;
    perturb(plus, h);
    perturb(minus, -h);
    const double numeric = (loss(layer, plus) - loss(layer, minus)) / (2 * h);
    const double error = std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric));
    if (error > 1e-5) std::cout << name << ": analytic " << analytic << ", numeric " << numeric << "\n";
    worst = std::max(worst, error);
  };
  for (int i = 0; i < 4; ++i) {
    for (int j = i; j < 4; ++j)
      check("P", i == j ? g.P(i, i) : g.P(i, j) + g.P(j, i), [&](Data& y, double e) {
        y.P(i, j) += e;
        if (i != j) y.P(j, i) += e;
      });
    check("q", g.q[i], [&](Data& y, double e) { y.q[i] += e; });
    check("d", g.d[i], [&](Data& y, double e) { y.d[i] += e; });
    check("A", g.A(0, i), [&](Data& y, double e) { y.A(0, i) += e; });
    for (int j = 0; j < 4; ++j) check("C", g.C(i, j), [&](Data& y, double e) { y.C(i, j) += e; });
  }
  check("b", g.b[0], [&](Data& y, double e) { y.b[0] += e; });

  // With P, C and A held constant, ask for the vector gradients alone: the
  // same values, and no matrix products.
  const dqp::DenseGradients v_only =
      layer.backward(problem, s, w, v, u, dqp::GradientSelection::vectors_only());
  const bool same = v_only.q == g.q && v_only.d == g.d && v_only.b == g.b && v_only.P.size() == 0 &&
                    v_only.C.size() == 0 && v_only.A.size() == 0;
  if (!same) std::cout << "vectors_only() differs from the full backward\n";

  std::cout << "z = " << s.z.transpose() << ", lambda = " << s.lam.transpose()
            << ", mu = " << s.mu.transpose() << "\n"
            << "largest relative difference from central differences: " << worst << "\n";
  const bool ok = worst < 1e-5 && same;
  std::cout << (ok ? "ok" : "MISMATCH") << "\n";
  return ok ? 0 : 1;
}
