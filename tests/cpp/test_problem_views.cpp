// Problem views never copy (what they cannot view does not compile: see
// compile_fail.cpp), and owning problems (DenseQP, SparseQP) take any Eigen
// data, can be assigned and kept in containers.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "dqp/batch.hpp"
#include "dqp/owned_problem.hpp"
#include "test_helpers.hpp"

namespace dqp::test {
namespace {

constexpr double kViewsExact = 1e-10;

TEST(ProblemViews, ViewTheCallersDataInPlace) {
  const dqp::DenseQP qp = seed_problem();
  const DenseProblem view = qp.view();
  EXPECT_EQ(view.P.data(), qp.P.data());
  EXPECT_EQ(view.C.data(), qp.C.data());
  EXPECT_EQ(view.q.data(), qp.q.data());
  EXPECT_EQ(view.d.data(), qp.d.data());
  // A block of rows keeps the parent's row stride, without a copy.
  const DenseView rows = qp.C.bottomRows(2);
  EXPECT_EQ(rows.data(), qp.C.data() + qp.C.cols());
  EXPECT_EQ(rows.rows(), 2);
  EXPECT_EQ(rows(1, 1), qp.C(2, 1));
  // A column block of a row-major matrix: rows contiguous, stride kept.
  const RowMatrix wide = RowMatrix::Random(3, 5);
  const DenseView block = wide.block(1, 1, 2, 3);
  EXPECT_EQ(block.outerStride(), 5);
  EXPECT_EQ(RowMatrix(block), wide.block(1, 1, 2, 3));
  const SparseMatrix sparse = to_sparse(qp.C);
  const SparseView sparse_view = sparse;
  EXPECT_EQ(sparse_view.valuePtr(), sparse.valuePtr());
  EXPECT_EQ(SparseView::of(sparse).innerIndexPtr(), sparse.innerIndexPtr());
}

TEST(ProblemViews, AssignmentRebinds) {
  const dqp::DenseQP first = seed_problem();
  dqp::DenseQP second = seed_problem();
  second.q << 1, -2;
  DenseProblem view = first.view();
  view = second.view();
  EXPECT_EQ(view.q.data(), second.q.data());
  EXPECT_EQ(view.P.data(), second.P.data());
  std::vector<DenseProblem> problems(2, first.view());
  problems[1] = second.view();
  EXPECT_EQ(problems[0].q.data(), first.q.data());
  EXPECT_EQ(problems[1].q.data(), second.q.data());
  // Sparse too.
  const SparseQP a = to_sparse(first), b = to_sparse(second);
  SparseProblem sparse = a.view();
  sparse = b.view();
  EXPECT_EQ(sparse.P.valuePtr(), b.P.valuePtr());
}

TEST(ProblemViews, UncompressedSparseMatrixIsRefused) {
  SparseMatrix M(3, 3);
  M.reserve(Eigen::VectorXi::Constant(3, 2));
  M.insert(0, 0) = 1.0;
  ASSERT_FALSE(M.isCompressed());
  EXPECT_THROW(SparseView::of(M), std::invalid_argument);
  M.makeCompressed();
  EXPECT_NO_THROW(SparseView::of(M));
}

// The owning problem copies column-major and float data once; its solution
// is the row-major problem's.
TEST(OwnedProblems, ColumnMajorAndFloatDataGiveTheSameSolution) {
  const dqp::DenseQP reference = seed_problem();
  const Eigen::MatrixXd Pc = reference.P, Cc = reference.C;
  const Eigen::MatrixXf Cf = reference.C.cast<float>();
  const Eigen::VectorXf qf = reference.q.cast<float>();
  const dqp::DenseQP column_major(Pc, reference.q, Cc, reference.d, Eigen::MatrixXd(0, 2),
                                  Vector(0));
  const dqp::DenseQP single(Pc, qf, Cf, reference.d, RowMatrix(0, 2), Eigen::VectorXf(0));
  const Layer layer;
  const Solution expected = layer.forward(reference.view());
  ASSERT_TRUE(is_optimal(expected.status));
  for (const dqp::DenseQP* qp : {&column_major, &single}) {
    const Solution s = layer.forward(qp->view());
    ASSERT_TRUE(is_optimal(s.status));
    EXPECT_LT((s.z - expected.z).cwiseAbs().maxCoeff(), kViewsExact);
    EXPECT_LT((s.mu - expected.mu).cwiseAbs().maxCoeff(), kViewsExact);
  }
}

// SparseQP converts 32-bit-index and row-major Eigen sparse matrices.
TEST(OwnedProblems, SparseFromEigenSparseMatrices) {
  const dqp::DenseQP dense = seed_problem();
  const Eigen::SparseMatrix<double> P32 = dense.P.sparseView();
  const Eigen::SparseMatrix<double, Eigen::RowMajor> C_rows = dense.C.sparseView();
  const dqp::SparseQP qp(P32, dense.q, C_rows, dense.d, Eigen::SparseMatrix<double>(0, 2),
                         Vector(0));
  EXPECT_TRUE(qp.P.isCompressed());
  EXPECT_EQ(RowMatrix(qp.C), dense.C);
  const Layer layer;
  const Solution expected = layer.forward(dense.view());
  const Solution s = layer.forward(qp.view());
  ASSERT_TRUE(is_optimal(s.status));
  EXPECT_LT((s.z - expected.z).cwiseAbs().maxCoeff(), kViewsExact);
  // Its gradients are the dense ones, entry for entry of the pattern.
  const Vector dz = Vector::Ones(2);
  const DenseGradients g = layer.backward(dense.view(), expected, dz, Vector(), Vector());
  const SparseGradients gs = layer.backward(qp.view(), s, dz, Vector(), Vector());
  EXPECT_LT((gs.q - g.q).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_LT((gs.d - g.d).cwiseAbs().maxCoeff(), 1e-8);
}

// The pattern of the issue that dangled: problems built in a loop from
// column-major data, kept in a vector, solved as a batch. With DenseQP the
// data live as long as the vector (AddressSanitizer runs this in CI).
TEST(OwnedProblems, BatchBuiltInALoopFromColumnMajorData) {
  std::mt19937 rng(7);
  constexpr Index kProblems = 8;
  std::vector<dqp::DenseQP> owned;
  std::vector<Solution> expected;
  const Layer layer;
  for (Index i = 0; i < kProblems; ++i) {
    const GeneratedQP generated = random_qp(rng, QPShape{6, 1, 2, 5});
    const Eigen::MatrixXd Pc = generated.qp.P, Cc = generated.qp.C, Ac = generated.qp.A;
    owned.emplace_back(Pc, generated.qp.q, Cc, generated.qp.d, Ac, generated.qp.b);
    expected.push_back(layer.forward(generated.qp.view()));
    ASSERT_TRUE(is_optimal(expected.back().status));
  }
  std::vector<DenseProblem> problems;
  for (const dqp::DenseQP& qp : owned) problems.push_back(qp.view());
  BatchOptions options;
  options.threads = 2;
  const std::vector<Solution> solutions = forward_batch(layer, problems, options);
  ASSERT_EQ(solutions.size(), owned.size());
  for (Index i = 0; i < kProblems; ++i) {
    ASSERT_TRUE(is_optimal(solutions[i].status)) << "problem " << i;
    EXPECT_LT((solutions[i].z - expected[i].z).cwiseAbs().maxCoeff(), kViewsExact)
        << "problem " << i;
  }
  // Owners can be assigned (and the views taken again).
  owned[0] = owned[1];
  problems[0] = owned[0].view();
  const Solution again = layer.forward(problems[0]);
  EXPECT_LT((again.z - expected[1].z).cwiseAbs().maxCoeff(), kViewsExact);
}

}  // namespace
}  // namespace dqp::test
