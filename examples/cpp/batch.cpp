// A batch: one P, C and A shared by every problem (viewed, never copied),
// a q of its own per problem, solved and differentiated on two threads.
// Problems with the same active set share one factorization of the reduced
// KKT system. Each result is checked against a call of its own. Exits 1 on a
// mismatch.
//
// forward_batch, backward_batch and every const member of dqp::Layer may be
// called from several threads at once; the data must stay alive and
// unchanged until the call returns.
#include <dqp/dqp.hpp>

#include <iostream>
#include <vector>

int main() {
  const int n = 5, m = 5, batch = 16;
  // Shared: minimize ½‖z‖² + qᵀz subject to z ≤ 1 (C = I, d = 1) and Σ z = 0.
  const dqp::RowMatrix P = dqp::RowMatrix::Identity(n, n), C = dqp::RowMatrix::Identity(m, n),
                       A = dqp::RowMatrix::Ones(1, n);
  const dqp::Vector d = dqp::Vector::Ones(m), b = dqp::Vector::Zero(1);
  // One q per problem, kept alive for as long as the problems are used.
  std::vector<dqp::Vector> qs;
  for (int i = 0; i < batch; ++i)
    qs.push_back(dqp::Vector::LinSpaced(n, -2.0, 2.0) * (0.25 * (i + 1)));
  std::vector<dqp::DenseProblem> problems;
  for (const dqp::Vector& q : qs) problems.push_back({P, q, C, d, A, b});

  dqp::Settings settings;
  const dqp::Layer layer(settings);
  dqp::BatchOptions options;
  options.threads = 2;
  const std::vector<dqp::Solution> solutions = dqp::forward_batch(layer, problems, options);

  // d loss / dz = 1 for every problem; no gradient on the duals: empty rows.
  const dqp::RowMatrix dz = dqp::RowMatrix::Ones(batch, n);
  const std::vector<dqp::DenseGradients> gradients =
      dqp::backward_batch(layer, problems, solutions, dz, dqp::RowMatrix(), dqp::RowMatrix(),
                          options);

  double gap = 0.0;
  int optimal = 0;
  for (int i = 0; i < batch; ++i) {
    const dqp::Solution single = layer.forward(problems[i]);
    const dqp::DenseGradients g =
        layer.backward(problems[i], single, dz.row(i).transpose(), dqp::Vector(), dqp::Vector());
    optimal += dqp::is_optimal(solutions[i].status);
    gap = std::max(gap, (solutions[i].z - single.z).cwiseAbs().maxCoeff());
    gap = std::max(gap, (gradients[i].q - g.q).cwiseAbs().maxCoeff());
    gap = std::max(gap, (gradients[i].C - g.C).cwiseAbs().maxCoeff());
  }
  std::cout << optimal << " of " << batch << " problems optimal; problem " << batch - 1
            << " has " << solutions[batch - 1].active.size()
            << " active rows, z = " << solutions[batch - 1].z.transpose() << "\n"
            << "largest difference from single calls: " << gap << "\n";
  const bool ok = optimal == batch && gap < 1e-10;
  std::cout << (ok ? "ok" : "MISMATCH") << "\n";
  return ok ? 0 : 1;
}
