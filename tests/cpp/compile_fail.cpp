// Code that must not compile: each DQP_CASE would make a problem view hold a
// hidden copy that dies before the view does (the dangling-view bug). Built
// by ctest (tests/cpp/CMakeLists.txt), which expects the build to fail with
// the message given there. DQP_CASE 0 is the control: the same code with
// data a view can take, which must compile.
#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "dqp/owned_problem.hpp"
#include "dqp/problem.hpp"

int main() {
  dqp::RowMatrix P = dqp::RowMatrix::Identity(2, 2), C(1, 2), A(0, 2);
  dqp::Vector q = dqp::Vector::Zero(2), d = dqp::Vector::Ones(1), b(0);
  C << 1, 1;
#if DQP_CASE == 0
  const dqp::DenseProblem problem{P, q, C, d, A, b};
  const dqp::SparseMatrix S = P.sparseView();
  const dqp::SparseView view(S);
  const dqp::DenseQP owner(Eigen::MatrixXd(P), q, C, d, A, b);
  const dqp::DenseProblem owned = owner.view();
  return static_cast<int>(problem.n() + view.rows() + owned.n()) - 6;
#elif DQP_CASE == 1  // column-major data (Eigen's default MatrixXd)
  const Eigen::MatrixXd Pc = P;
  const dqp::DenseProblem problem{Pc, q, C, d, A, b};
#elif DQP_CASE == 2  // float data
  const Eigen::VectorXf qf = q.cast<float>();
  const dqp::DenseProblem problem{P, qf, C, d, A, b};
#elif DQP_CASE == 3  // an expression
  const dqp::DenseProblem problem{2.0 * P, q, C, d, A, b};
#elif DQP_CASE == 4  // a temporary matrix
  const dqp::DenseProblem problem{dqp::RowMatrix(P), q, C, d, A, b};
#elif DQP_CASE == 5  // Eigen's default sparse matrix (32-bit indices)
  const Eigen::SparseMatrix<double> S = P.sparseView();
  const dqp::SparseView view(S);
#elif DQP_CASE == 6  // the view of a temporary owner
  const dqp::DenseProblem problem = dqp::DenseQP(P, q, C, d, A, b).view();
#elif DQP_CASE == 7  // a temporary vector
  const dqp::DenseProblem problem{P, dqp::Vector(q), C, d, A, b};
#endif
  return 0;
}
