// Sparse problems from Eigen::SparseMatrix. dqp's sparse views take
// compressed columns with 64-bit indices (dqp::SparseMatrix) in place, through
// dqp::SparseView::of; Eigen's default SparseMatrix<double> (32-bit indices)
// is converted once by dqp::SparseQP, which owns the result. Both match the
// dense solution. Exits 1 on a mismatch.
//
//   minimize ½ zᵀ P z + qᵀ z  subject to  z_i + z_{i+1} ≥ 1 (i < n - 1),  Σ z = n / 2
// with P tridiagonal (a discrete Laplacian plus the identity).
#include <dqp/dqp.hpp>

#include <iostream>
#include <vector>

int main() {
  const int n = 30;
  std::vector<Eigen::Triplet<double>> p_entries, c_entries, a_entries;
  for (int i = 0; i < n; ++i) {
    p_entries.emplace_back(i, i, 3.0);
    if (i + 1 < n) {
      p_entries.emplace_back(i, i + 1, -1.0);
      p_entries.emplace_back(i + 1, i, -1.0);  // both triangles stored
      c_entries.emplace_back(i, i, -1.0);
      c_entries.emplace_back(i, i + 1, -1.0);
    }
    a_entries.emplace_back(0, i, 1.0);
  }
  // Eigen's defaults: column-major, int indices.
  Eigen::SparseMatrix<double> P(n, n), C(n - 1, n), A(1, n);
  P.setFromTriplets(p_entries.begin(), p_entries.end());
  C.setFromTriplets(c_entries.begin(), c_entries.end());
  A.setFromTriplets(a_entries.begin(), a_entries.end());
  dqp::Vector q(n);
  for (int i = 0; i < n; ++i) q[i] = (i % 3) - 1.0;
  const dqp::Vector d = -dqp::Vector::Ones(n - 1), b = dqp::Vector::Constant(1, n / 2.0);

  // 1. Converted once into a problem that owns 64-bit CSC copies.
  const dqp::SparseQP owned(P, q, C, d, A, b);

  // 2. Built as dqp::SparseMatrix (64-bit indices) and viewed in place.
  dqp::SparseMatrix P64 = P.cast<double>(), C64 = C, A64 = A;
  P64.makeCompressed();
  C64.makeCompressed();
  A64.makeCompressed();
  const dqp::SparseProblem viewed{dqp::SparseView::of(P64), q, dqp::SparseView::of(C64), d,
                                  dqp::SparseView::of(A64), b};

  const dqp::Layer layer;
  const dqp::Solution from_owned = layer.forward(owned.view());
  const dqp::Solution from_view = layer.forward(viewed);
  // The same problem, dense.
  const dqp::DenseQP dense(Eigen::MatrixXd(P), q, Eigen::MatrixXd(C), d, Eigen::MatrixXd(A), b);
  const dqp::Solution reference = layer.forward(dense.view());

  std::cout << "sparse (SparseQP):   " << dqp::to_string(from_owned.status) << ", "
            << from_owned.active.size() << " active rows, solver " << from_owned.solver
            << ", linear solver " << from_owned.linear_solver() << "\n"
            << "sparse (SparseView): " << dqp::to_string(from_view.status) << "\n"
            << "dense:               " << dqp::to_string(reference.status) << ", solver "
            << reference.solver << "\n";
  const double gap = std::max((from_owned.z - reference.z).cwiseAbs().maxCoeff(),
                              (from_view.z - reference.z).cwiseAbs().maxCoeff());
  std::cout << "largest difference from the dense solution: " << gap << "\n";
  const bool ok = dqp::is_optimal(from_owned.status) && dqp::is_optimal(from_view.status) &&
                  dqp::is_optimal(reference.status) && gap < 1e-8;
  std::cout << (ok ? "ok" : "MISMATCH") << "\n";
  return ok ? 0 : 1;
}
