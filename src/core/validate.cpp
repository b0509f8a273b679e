// Input validation, in one place: every message names the argument.
#include <Eigen/Eigenvalues>
#include <Eigen/SparseCholesky>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "dqp/problem.hpp"
#include "dqp/settings.hpp"
#include "convexity.hpp"

namespace dqp {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

std::string shape(Index rows, Index cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// A constraint matrix must have n columns, and one row per entry of its
// right-hand side; a mismatch in rows is reported on the right-hand side,
// the vector a caller most often gets wrong.
template <class M>
void check_matrix_shape(const M& matrix, Index rows, Index n, const char* name,
                        const char* rhs_name) {
  // A constraint matrix with no rows may come as (0, 0) or (0, n).
  if (rows == 0 && matrix.rows() == 0 && (matrix.cols() == 0 || matrix.cols() == n)) return;
  if (matrix.cols() != n) {
    std::ostringstream out;
    out << name << " must have " << n << " columns to match q, got shape "
        << shape(matrix.rows(), matrix.cols());
    fail(out.str());
  }
  if (matrix.rows() != rows) {
    std::ostringstream out;
    out << rhs_name << " must have " << matrix.rows() << " entries to match the rows of " << name
        << " (shape " << shape(matrix.rows(), matrix.cols()) << "), got " << rows;
    fail(out.str());
  }
}

[[noreturn]] void fail_magnitude(const char* name, double magnitude, double bound) {
  std::ostringstream out;
  out << name << " has an entry of magnitude " << magnitude << ", beyond max_abs_value = " << bound
      << " (rescale the problem)";
  fail(out.str());
}

// Largest magnitude of a contiguous array, or NaN if it holds a NaN. One
// vectorized pass: these checks run on every solve, and for small problems
// they cost as much as the solve when done entry by entry.
double max_magnitude(const double* values, Index size) {
  if (size == 0) return 0.0;
  return Eigen::Map<const Eigen::ArrayXd>(values, size).abs().maxCoeff<Eigen::PropagateNaN>();
}

template <class Values>
void check_values(const Values& values, const char* name, double bound) {
  const double largest = max_magnitude(values.data(), values.size());
  if (!std::isfinite(largest)) fail(std::string(name) + " contains NaN or Inf");
  if (largest > bound) fail_magnitude(name, largest, bound);
}

// d may hold +inf (a row that never binds: dropped from the solve) and -inf
// (a row that never holds: the problem is infeasible); NaN is an error.
void check_bounds(const VectorView& d, double bound) {
  if (d.size() == 0) return;
  const auto magnitude = d.array().abs();
  if (magnitude.isNaN().any()) fail("d contains NaN (+inf and -inf are accepted bounds)");
  const double largest = (magnitude < INFINITY).select(magnitude, 0.0).maxCoeff();
  if (largest > bound) fail_magnitude("d", largest, bound);
}

// Row by row: rows of a row-major view are contiguous whatever its stride.
void check_matrix_values(const DenseView& matrix, const char* name, double bound) {
  double largest = 0.0;
  for (Index i = 0; i < matrix.rows(); ++i) {
    const double row = max_magnitude(matrix.row(i).data(), matrix.cols());
    if (!std::isfinite(row)) fail(std::string(name) + " contains NaN or Inf");
    largest = std::max(largest, row);
  }
  if (largest > bound) fail_magnitude(name, largest, bound);
}

// ||P - Pᵀ||_F / max(1, ||P||_F) from the strict upper triangle against the
// lower one, read row by row.
double relative_asymmetry_dense(const DenseView& P) {
  const Index n = P.rows();
  double difference = 0.0, norm = 0.0;
  for (Index i = 0; i < n; ++i) {
    norm += P.row(i).squaredNorm();
    if (i + 1 < n)
      difference += (P.row(i).tail(n - i - 1) - P.col(i).tail(n - i - 1).transpose()).squaredNorm();
  }
  return std::sqrt(2.0 * difference) / std::max(1.0, std::sqrt(norm));
}

double relative_asymmetry_sparse(const SparseView& P) {
  const SparseMatrix transposed = P.transpose();
  const SparseMatrix difference = SparseMatrix(P) - transposed;
  return difference.norm() / std::max(1.0, P.norm());
}

// The same tolerance as the screen every forward pass makes (convexity.hpp),
// so check_psd raises exactly where the screen would report non_convex, and
// says by how much.
void check_psd_dense(const DenseView& P) {
  if (P.rows() == 0 || !core::has_negative_curvature(P)) return;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Eigen::MatrixXd(P), Eigen::EigenvaluesOnly);
  std::ostringstream out;
  out << "P must be positive semidefinite (check_psd is on), but its smallest eigenvalue is "
      << eig.eigenvalues().minCoeff() << " (below -" << core::negative_curvature_tolerance(P)
      << " = -1e-5 * ||P||_inf)";
  fail(out.str());
}

void check_psd_sparse(const SparseView& P) {
  if (!core::has_negative_curvature(P)) return;
  std::ostringstream out;
  out << "P must be positive semidefinite (check_psd is on), but P + " << core::negative_curvature_tolerance(P)
      << " I (1e-5 * ||P||_inf) has a non-positive pivot in its LDL^T factorization";
  fail(out.str());
}

template <class Problem>
void check_common(const Problem& qp, const Settings& settings) {
  const Index n = qp.n();
  if (n == 0) fail("q must have at least one entry (the problem has no variables)");
  if (qp.P.rows() != n || qp.P.cols() != n)
    fail("P must have shape " + shape(n, n) + " to match q, got " +
         shape(qp.P.rows(), qp.P.cols()));
  check_matrix_shape(qp.C, qp.m(), n, "C", "d");
  check_matrix_shape(qp.A, qp.p(), n, "A", "b");
  if (settings.check_finite) {
    check_values(qp.q, "q", settings.max_abs_value);
    check_bounds(qp.d, settings.max_abs_value);
    check_values(qp.b, "b", settings.max_abs_value);
  }
}

void check_matrix_values(const SparseView& matrix, const char* name, double bound) {
  check_values(matrix.coeffs(), name, bound);
}

void check_symmetry(double asymmetry, const Settings& settings) {
  if (asymmetry > settings.symmetry_tol) {
    std::ostringstream out;
    out << "P must be symmetric with both triangles stored: ||P - P^T||_F / max(1, ||P||_F) = "
        << asymmetry << " exceeds symmetry_tol = " << settings.symmetry_tol;
    fail(out.str());
  }
}

}  // namespace

void validate(const DenseProblem& qp, const Settings& settings) {
  check_common(qp, settings);
  if (settings.check_finite) {
    check_matrix_values(qp.P, "P", settings.max_abs_value);
    check_matrix_values(qp.C, "C", settings.max_abs_value);
    check_matrix_values(qp.A, "A", settings.max_abs_value);
  }
  check_symmetry(relative_asymmetry_dense(qp.P), settings);
  if (settings.check_psd) check_psd_dense(qp.P);
}

void validate_structure(const SparseView& M, const char* name) {
  auto broken = [name](const std::string& what) {
    fail(std::string(name) + " (CSC): " + what);
  };
  const Index rows = M.rows(), cols = M.cols(), nnz = M.nonZeros();
  if (rows < 0 || cols < 0 || nnz < 0) broken("negative shape or entry count");
  const Index* indptr = M.outerIndexPtr();
  const Index* indices = M.innerIndexPtr();
  if (nnz > 0 && (indices == nullptr || M.valuePtr() == nullptr))
    broken("null row index or value array");
  if (indptr == nullptr) broken("null column pointer array");
  if (M.innerNonZeroPtr() != nullptr) broken("the matrix must be compressed");
  if (indptr[0] != 0)
    broken("column pointers must start at 0, got " + std::to_string(indptr[0]));
  // The pointers first, all of them: the row indices are read through them.
  for (Index j = 0; j < cols; ++j)
    if (indptr[j + 1] < indptr[j] || indptr[j + 1] > nnz)
      broken("column pointers must be non-decreasing and at most nnz = " + std::to_string(nnz) +
             ", got " + std::to_string(indptr[j]) + " then " + std::to_string(indptr[j + 1]) +
             " at column " + std::to_string(j));
  if (indptr[cols] != nnz)
    broken("the last column pointer must equal nnz = " + std::to_string(nnz) + ", got " +
           std::to_string(indptr[cols]));
  for (Index j = 0; j < cols; ++j) {
    const Index begin = indptr[j], end = indptr[j + 1];
    for (Index k = begin; k < end; ++k) {
      if (indices[k] < 0 || indices[k] >= rows)
        broken("row index " + std::to_string(indices[k]) + " in column " + std::to_string(j) +
               " is out of range for " + std::to_string(rows) + " rows");
      if (k > begin && indices[k] <= indices[k - 1])
        broken("row indices must be strictly increasing within each column (unsorted or "
               "duplicate entries in column " + std::to_string(j) + ")");
    }
  }
}

void validate(const SparseProblem& qp, const Settings& settings) {
  // The structure first: everything after reads through it.
  validate_structure(qp.P, "P");
  validate_structure(qp.C, "C");
  validate_structure(qp.A, "A");
  check_common(qp, settings);
  if (settings.check_finite) {
    check_matrix_values(qp.P, "P", settings.max_abs_value);
    check_matrix_values(qp.C, "C", settings.max_abs_value);
    check_matrix_values(qp.A, "A", settings.max_abs_value);
  }
  check_symmetry(relative_asymmetry_sparse(qp.P), settings);
  if (settings.check_psd) check_psd_sparse(qp.P);
}

}  // namespace dqp
