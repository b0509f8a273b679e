// The fill-reducing order of the unpivoted sparse LDLᵀ solvers: a
// permutation, dense rows last, and a sparse factor for the KKT system of a
// projection onto the simplex (one dense equality row), where Eigen's own
// AMD fills L completely.
#include <gtest/gtest.h>

#include <Eigen/SparseCholesky>
#include <algorithm>

#include "kkt/fill_reducing_order.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// K of min ½‖z‖² s.t. 1ᵀz = 1 and z_i ≥ 0 active for i < bounds.
KKTSparse simplex_kkt(int n, int bounds) {
  std::vector<Eigen::Triplet<double>> entries;
  for (int i = 0; i < n; ++i) {
    entries.emplace_back(i, i, 1.0);
    entries.emplace_back(n, i, 1.0);
    entries.emplace_back(i, n, 1.0);
  }
  for (int r = 0; r < bounds; ++r) {
    entries.emplace_back(n + 1 + r, r, -1.0);
    entries.emplace_back(r, n + 1 + r, -1.0);
  }
  KKTSparse K(n + 1 + bounds, n + 1 + bounds);
  K.setFromTriplets(entries.begin(), entries.end());
  return K;
}

bool is_permutation(std::vector<int> order, Index size) {
  if (static_cast<Index>(order.size()) != size) return false;
  std::sort(order.begin(), order.end());
  for (Index i = 0; i < size; ++i)
    if (order[i] != i) return false;
  return true;
}

// Entries of L when K is factored in `order`.
Index factor_entries(const KKTSparse& K, const std::vector<int>& order) {
  Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> permutation(K.rows());
  for (Index k = 0; k < K.rows(); ++k) permutation.indices()[order[k]] = static_cast<int>(k);
  KKTSparse permuted;
  permuted = K.twistedBy(permutation);
  Eigen::SimplicialLDLT<KKTSparse, Eigen::Lower, Eigen::NaturalOrdering<int>> ldlt(permuted);
  EXPECT_EQ(ldlt.info(), Eigen::Success);
  return ldlt.matrixL().nestedExpression().nonZeros();
}

TEST(FillReducingOrder, KeepsTheSimplexFactorSparse) {
  const int n = 1000;
  const KKTSparse K = simplex_kkt(n, n - 5);
  for (const auto& order : {kkt::fill_reducing_order(K), kkt::eigen_amd_dense_rows_last(K)}) {
    ASSERT_TRUE(is_permutation(order, K.rows()));
    EXPECT_LT(factor_entries(K, order), 4 * K.rows());
  }
  // The dense row (the equality) is eliminated last by the fallback.
  EXPECT_EQ(kkt::eigen_amd_dense_rows_last(K).back(), n);
}

TEST(FillReducingOrder, HandlesEmptyAndOneTriangle) {
  EXPECT_TRUE(kkt::fill_reducing_order(KKTSparse(0, 0)).empty());
  const KKTSparse K = simplex_kkt(50, 20);
  const KKTSparse lower = K.triangularView<Eigen::Lower>();
  EXPECT_TRUE(is_permutation(kkt::fill_reducing_order(lower), K.rows()));
  EXPECT_TRUE(is_permutation(kkt::eigen_amd_dense_rows_last(lower), K.rows()));
}

// Every sparse linear solver solves the simplex system (the order is shared
// by sparse_ldlt and qdldl).
TEST(FillReducingOrder, SparseSolversSolveTheSimplexSystem) {
  const KKTSparse K = simplex_kkt(400, 390);
  Vector b = Vector::LinSpaced(K.rows(), -1.0, 2.0);
  for (const LinearSolverInfo& info : linear_solvers()) {
    if (!info.sparse) continue;
    SCOPED_TRACE(info.name);
    auto factorization = make_linear_solver(info.name)->factorize(K);
    ASSERT_NE(factorization, nullptr);
    Vector x = b;
    factorization->solve(x);
    EXPECT_LT((K * x - b).cwiseAbs().maxCoeff(), 1e-9 * (1.0 + b.cwiseAbs().maxCoeff()));
  }
}

}  // namespace
}  // namespace dqp::test
