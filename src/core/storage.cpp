#include "dqp/storage.hpp"

namespace dqp {
namespace {

// Non-zeros of M, counted row by row until they pass `budget`.
Index count_nonzeros(const DenseView& M, Index budget) {
  Index count = 0;
  for (Index i = 0; i < M.rows() && count <= budget; ++i)
    count += (M.row(i).array() != 0.0).count();
  return count;
}

SparseMatrix nonzeros_of(const DenseView& M, Index cols) {
  if (M.rows() == 0) return SparseMatrix(0, cols);
  SparseMatrix sparse = M.sparseView();
  sparse.makeCompressed();
  return sparse;
}

}  // namespace

const char* to_string(Storage storage) {
  return storage == Storage::Sparse ? "sparse" : "dense";
}

bool sparse_pays_off(const DenseProblem& problem) {
  const Index n = problem.n();
  if (n < kSparseFromVariables) return false;
  const Index rows = n + problem.C.rows() + problem.A.rows();
  const auto budget = static_cast<Index>(kSparseMaxNonzerosPerRow * static_cast<double>(rows));
  Index count = 0;
  for (const DenseView* M : {&problem.P, &problem.C, &problem.A}) {
    count += count_nonzeros(*M, budget - count);
    if (count > budget) return false;
  }
  return true;
}

SparseQP to_sparse(const DenseProblem& problem) {
  const Index n = problem.n();
  SparseQP sparse;
  sparse.P = nonzeros_of(problem.P, n);
  sparse.C = nonzeros_of(problem.C, n);
  sparse.A = nonzeros_of(problem.A, n);
  sparse.q = problem.q;
  sparse.d = problem.d;
  sparse.b = problem.b;
  return sparse;
}

}  // namespace dqp
