// Dense problems from either storage order. A dqp::DenseProblem views
// row-major data (dqp::RowMatrix, numpy's layout) without copying; a
// column-major Eigen::MatrixXd does not compile there, because the view
// would need a hidden copy. dqp::DenseQP owns its data and takes any Eigen
// matrix, copying it once. Both give the same solution. Exits 1 on a mismatch.
//
//   minimize ½‖z - t‖²  subject to  z ≥ 0,  Σ z = 1   (projection on the simplex)
#include <dqp/dqp.hpp>

#include <iostream>

int main() {
  const int n = 4;
  dqp::Vector t(n);
  t << 0.8, 0.5, -0.3, 0.1;

  // Row-major data, viewed in place: the problem must not outlive them.
  const dqp::RowMatrix P = dqp::RowMatrix::Identity(n, n);
  const dqp::RowMatrix C = -dqp::RowMatrix::Identity(n, n);
  const dqp::RowMatrix A = dqp::RowMatrix::Ones(1, n);
  const dqp::Vector q = -t, d = dqp::Vector::Zero(n), b = dqp::Vector::Ones(1);
  const dqp::DenseProblem viewed{P, q, C, d, A, b};

  // Column-major data (Eigen's default), copied into a problem that owns it.
  const Eigen::MatrixXd P_cols = Eigen::MatrixXd::Identity(n, n);
  const Eigen::MatrixXd C_cols = -Eigen::MatrixXd::Identity(n, n);
  const Eigen::MatrixXd A_cols = Eigen::MatrixXd::Ones(1, n);
  const dqp::DenseQP owned(P_cols, q, C_cols, d, A_cols, b);

  const dqp::Layer layer;
  const dqp::Solution a = layer.forward(viewed);
  const dqp::Solution c = layer.forward(owned.view());
  std::cout << "row-major:    " << dqp::to_string(a.status) << " z = " << a.z.transpose()
            << " (solver " << a.solver << ")\n"
            << "column-major: " << dqp::to_string(c.status) << " z = " << c.z.transpose() << "\n";

  dqp::Vector expected(n);
  expected << 0.65, 0.35, 0.0, 0.0;
  const bool ok = dqp::is_optimal(a.status) && dqp::is_optimal(c.status) &&
                  (a.z - expected).cwiseAbs().maxCoeff() < 1e-8 &&
                  (c.z - a.z).cwiseAbs().maxCoeff() < 1e-12;
  std::cout << (ok ? "ok" : "MISMATCH") << "\n";
  return ok ? 0 : 1;
}
