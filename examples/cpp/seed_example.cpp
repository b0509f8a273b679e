// The seed example from C++: solve, then differentiate the optimal value
// p* = ½ zᵀ P z + qᵀ z and compare with the envelope theorem's closed forms
// ∇P = ½ z zᵀ, ∇q = z, ∇C = μ zᵀ, ∇d = -μ. Exits 1 on a mismatch.
#include <dqp/dqp.hpp>

#include <cmath>
#include <iostream>

int main() {
  dqp::RowMatrix P(2, 2), C(3, 2), A(0, 2);
  P << 2, 0, 0, 2;
  C << -1, -1, -1, 0, 0, -1;
  dqp::Vector q = dqp::Vector::Zero(2), d(3), b(0);
  d << -1, 0, 0;

  const dqp::Layer layer;  // default settings: the "auto" solver chain
  const dqp::DenseProblem problem{P, q, C, d, A, b};
  const dqp::Solution solution = layer.forward(problem);
  std::cout << "status " << dqp::to_string(solution.status) << ", z = " << solution.z.transpose()
            << ", mu = " << solution.mu.transpose() << "\n";

  // dL/dz of the optimal value; its direct dependence on P and q is added below.
  const dqp::Vector dz = P * solution.z + q;
  const dqp::DenseGradients g = layer.backward(problem, solution, dz, dqp::Vector(), dqp::Vector());
  const dqp::Vector& z = solution.z;
  const dqp::RowMatrix grad_P = g.P + 0.5 * z * z.transpose();
  const dqp::Vector grad_q = g.q + z;

  double error = (grad_P - 0.5 * z * z.transpose()).cwiseAbs().maxCoeff();
  error = std::max(error, (grad_q - z).cwiseAbs().maxCoeff());
  error = std::max(error, (g.C - solution.mu * z.transpose()).cwiseAbs().maxCoeff());
  error = std::max(error, (g.d + solution.mu).cwiseAbs().maxCoeff());
  error = std::max(error, (z - dqp::Vector::Constant(2, 0.5)).cwiseAbs().maxCoeff());
  std::cout << "largest deviation from the closed forms: " << error << "\n";
  return error <= 1e-6 ? 0 : 1;
}
