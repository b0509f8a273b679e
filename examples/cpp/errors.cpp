// Error handling. Bad input throws std::invalid_argument whose message names
// the argument; a solve that fails is not an exception but a status, and its
// solution cannot be differentiated. Exits 1 when an outcome differs.
#include <dqp/dqp.hpp>

#include <iostream>
#include <stdexcept>
#include <string>

namespace {

int failures = 0;

// Runs `body`, which must throw std::invalid_argument mentioning `expected`.
template <class Body>
void expect_invalid(const char* what, const std::string& expected, Body body) {
  try {
    body();
    std::cout << what << ": no exception\n";
    ++failures;
  } catch (const std::invalid_argument& error) {
    const bool named = std::string(error.what()).find(expected) != std::string::npos;
    std::cout << what << ": " << error.what() << "\n";
    failures += !named;
  }
}

}  // namespace

int main() {
  const dqp::Layer layer;
  const dqp::RowMatrix P = dqp::RowMatrix::Identity(2, 2), C = -dqp::RowMatrix::Identity(2, 2),
                       A(0, 2);
  const dqp::Vector q = dqp::Vector::Ones(2), d = dqp::Vector::Zero(2), b(0);

  // 1. Shapes: a d with the wrong length is reported as d.
  const dqp::Vector d3 = dqp::Vector::Zero(3);
  expect_invalid("wrong-sized d", "d must have 2 entries",
                 [&] { layer.forward(dqp::DenseProblem{P, q, C, d3, A, b}); });

  // 2. Values: NaN in q.
  dqp::Vector q_nan = q;
  q_nan[1] = std::nan("");
  expect_invalid("NaN in q", "q contains NaN",
                 [&] { layer.forward(dqp::DenseProblem{P, q_nan, C, d, A, b}); });

  // 3. Broken CSC structure: a row index beyond the matrix (8 rows, index 99).
  const dqp::Index indptr[] = {0, 1, 2}, rows[] = {0, 99};
  const double values[] = {-1.0, -1.0};
  const dqp::SparseView C_broken(8, 2, 2, indptr, rows, values);
  const dqp::SparseMatrix P_sparse = P.sparseView();
  const dqp::Vector d8 = dqp::Vector::Zero(8);
  expect_invalid("row index out of range", "C (CSC): row index 99",
                 [&] { layer.forward(dqp::SparseProblem{P_sparse, q, C_broken, d8, {}, b}); });

  // 4. Settings: an unknown solver name lists the known ones.
  dqp::Settings settings;
  settings.qp_solver = "no_such_solver";
  expect_invalid("unknown solver", "no_such_solver", [&] { dqp::Layer bad(settings); });

  // 5. A failed solve is a status: z ≥ 1 and z ≤ 0 cannot both hold.
  dqp::RowMatrix C_infeasible(2, 1);
  C_infeasible << -1, 1;
  const dqp::RowMatrix P1 = dqp::RowMatrix::Identity(1, 1), A1(0, 1);
  const dqp::Vector q1 = dqp::Vector::Zero(1), d_infeasible = (dqp::Vector(2) << -1, 0).finished();
  const dqp::DenseProblem infeasible{P1, q1, C_infeasible, d_infeasible, A1, b};
  const dqp::Solution s = layer.forward(infeasible);
  std::cout << "infeasible problem: status " << dqp::to_string(s.status) << ", differentiable "
            << s.differentiable() << "\n";
  failures += dqp::is_optimal(s.status) || s.differentiable();
  // ... and differentiating it is refused, naming the status.
  expect_invalid("backward of a failed solve", dqp::to_string(s.status),
                 [&] { layer.backward(infeasible, s, dqp::Vector::Ones(1), dqp::Vector(), dqp::Vector()); });

  // 6. backward with a problem other than forward's (same sizes, other data).
  const dqp::Solution ok = layer.forward(dqp::DenseProblem{P, q, C, d, A, b});
  const dqp::Vector q_other = -q;
  expect_invalid("backward on another problem", "does not belong", [&] {
    layer.backward(dqp::DenseProblem{P, q_other, C, d, A, b}, ok, dqp::Vector::Ones(2), dqp::Vector(), dqp::Vector());
  });

  std::cout << (failures == 0 ? "ok" : "UNEXPECTED OUTCOMES") << "\n";
  return failures == 0 ? 0 : 1;
}
