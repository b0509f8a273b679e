// Settings::storage: dense problems solved and differentiated on the sparse
// path give the dense path's solution and dense gradients; the "auto" rule
// (sparse_pays_off) and the conversion (to_sparse).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

Layer layer_with_storage(const std::string& storage) {
  Settings settings;
  settings.storage = storage;
  return Layer(settings);
}

void expect_same_gradients(const DenseGradients& a, const DenseGradients& b, double tolerance) {
  EXPECT_TRUE(near_relative(a.P, b.P, tolerance)) << "P";
  EXPECT_TRUE(near_relative(a.q, b.q, tolerance)) << "q";
  EXPECT_TRUE(near_relative(a.C, b.C, tolerance)) << "C";
  EXPECT_TRUE(near_relative(a.d, b.d, tolerance)) << "d";
  EXPECT_TRUE(near_relative(a.A, b.A, tolerance)) << "A";
  EXPECT_TRUE(near_relative(a.b, b.b, tolerance)) << "b";
}

TEST(Storage, SparsePathGivesTheDensePathsSolutionAndDenseGradients) {
  std::mt19937 rng(17);
  const Layer dense = layer_with_storage("input"), sparse = layer_with_storage("sparse");
  for (int trial = 0; trial < 8; ++trial) {
    const GeneratedQP generated = random_qp(rng, random_shape(rng, Constraints::Both, 0.4));
    const DenseQP& qp = generated.qp;
    const Solution a = dense.forward(qp.view()), b = sparse.forward(qp.view());
    ASSERT_TRUE(is_optimal(b.status)) << "trial " << trial;
    EXPECT_EQ(a.storage, Storage::Dense);
    EXPECT_EQ(b.storage, Storage::Sparse);
    EXPECT_TRUE(near_relative(b.z, a.z, 1e-9)) << "trial " << trial;
    EXPECT_TRUE(near_relative(b.lam, a.lam, 1e-9)) << "trial " << trial;
    EXPECT_TRUE(near_relative(b.mu, a.mu, 1e-9)) << "trial " << trial;
    EXPECT_EQ(a.active, b.active);
    const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
    const DenseGradients ga = dense.backward(qp.view(), a, loss.wz, loss.wlam, loss.wmu);
    const DenseGradients gb = sparse.backward(qp.view(), b, loss.wz, loss.wlam, loss.wmu);
    expect_same_gradients(gb, ga, 1e-8);
  }
}

TEST(Storage, SparsePathGradientsMatchFiniteDifferences) {
  std::mt19937 rng(5);
  const GeneratedQP generated = random_qp(rng, {8, 2, 3, 7, 0.4});
  const Layer layer = layer_with_storage("sparse");
  const DenseQP& qp = generated.qp;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.storage, Storage::Sparse);
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  const DenseGradients g = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  const DenseGradients fd = fd_gradients(layer, qp, loss, 1e-6);
  EXPECT_TRUE(near_relative(paired(g.P), fd.P, 1e-6));
  EXPECT_TRUE(near_relative(g.C, fd.C, 1e-6));
  EXPECT_TRUE(near_relative(g.A, fd.A, 1e-6));
  EXPECT_TRUE(near_relative(g.q, fd.q, 1e-6));
  EXPECT_TRUE(near_relative(g.d, fd.d, 1e-6));
  EXPECT_TRUE(near_relative(g.b, fd.b, 1e-6));
}

TEST(Storage, BatchWithSharedMatricesOnTheSparsePath) {
  std::mt19937 rng(23);
  const DenseQP base = random_qp(rng, {8, 2, 3, 7, 0.5}).qp;
  std::vector<Vector> qs;
  for (int i = 0; i < 4; ++i) qs.push_back(base.q + 0.1 * Vector::Random(base.n()));
  std::vector<DenseProblem> problems;
  for (const Vector& q : qs) problems.push_back({base.P, q, base.C, base.d, base.A, base.b});
  const Layer dense = layer_with_storage("input"), sparse = layer_with_storage("sparse");
  const auto a = forward_batch(dense, problems), b = forward_batch(sparse, problems);
  const RowMatrix dz = RowMatrix::Random(4, base.n());
  const auto ga = backward_batch(dense, problems, a, dz, RowMatrix(), RowMatrix());
  const auto gb = backward_batch(sparse, problems, b, dz, RowMatrix(), RowMatrix());
  for (std::size_t i = 0; i < problems.size(); ++i) {
    EXPECT_EQ(b[i].storage, Storage::Sparse);
    EXPECT_TRUE(near_relative(b[i].z, a[i].z, 1e-9));
    expect_same_gradients(gb[i], ga[i], 1e-8);
  }
}

// n variables, a diagonal P, and `rows` rows of C with `per_row` leading non-zeros.
DenseQP diagonal_problem(Index n, Index rows, Index per_row) {
  RowMatrix C = RowMatrix::Zero(rows, n);
  C.leftCols(per_row).setOnes();
  return DenseQP(RowMatrix(RowMatrix::Identity(n, n)), Vector::Ones(n), C, Vector::Ones(rows),
                 RowMatrix(0, n), Vector(0));
}

TEST(Storage, AutoRuleNeedsManyVariablesAndFewNonzerosPerRow) {
  const Index n = kSparseFromVariables;
  auto pays_off = [](const DenseQP& qp) { return sparse_pays_off(qp.view()); };
  EXPECT_TRUE(pays_off(diagonal_problem(n, 10, 2)));
  EXPECT_FALSE(pays_off(diagonal_problem(n - 1, 10, 2)));
  // Budget 3 (n + 10) = 330 non-zeros: P holds n = 100, C 10 rows of 23 = 230 fits, of 24 not.
  EXPECT_TRUE(pays_off(diagonal_problem(n, 10, 23)));
  EXPECT_FALSE(pays_off(diagonal_problem(n, 10, 24)));
  DenseQP full = diagonal_problem(n, 10, 2);
  full.P.setConstant(0.001);
  full.P.diagonal().setOnes();
  EXPECT_FALSE(sparse_pays_off(full.view()));
}

TEST(Storage, AutoSolvesLargeMostlyZeroDenseProblemsSparseUnlessTheUserChoseASolver) {
  const DenseQP qp = diagonal_problem(150, 20, 2);
  EXPECT_EQ(Layer().forward(qp.view()).storage, Storage::Sparse);
  Settings chosen;
  chosen.qp_solver = "proxqp";
  EXPECT_EQ(Layer(chosen).forward(qp.view()).storage, Storage::Dense);
  Settings input;
  input.storage = "input";
  EXPECT_EQ(Layer(input).forward(qp.view()).storage, Storage::Dense);
  const DenseQP small = diagonal_problem(20, 5, 2);
  EXPECT_EQ(Layer().forward(small.view()).storage, Storage::Dense);
}

TEST(Storage, ToSparseKeepsExactlyTheNonzerosAndWidensEmptyRows) {
  RowMatrix P{{2.0, 0.0}, {0.0, 3.0}};
  const DenseQP qp(P, Vector::Ones(2), RowMatrix(0, 0), Vector(0), RowMatrix{{0.0, 1.0}},
                   Vector::Ones(1));
  const SparseQP sparse = to_sparse(qp.view());
  EXPECT_EQ(sparse.P.nonZeros(), 2);
  EXPECT_EQ(RowMatrix(sparse.P), P);
  EXPECT_EQ(sparse.C.rows(), 0);
  EXPECT_EQ(sparse.C.cols(), 2);
  EXPECT_EQ(sparse.A.nonZeros(), 1);
  EXPECT_EQ(sparse.A.coeff(0, 1), 1.0);
}

TEST(Storage, BadStorageSettingsNameTheSetting) {
  Settings bad;
  bad.storage = "compressed";
  EXPECT_NE(invalid_argument_message([&] { Layer layer(bad); }).find("storage must be"),
            std::string::npos);
  if (has_qp_solver("daqp")) {
    Settings dense_only;
    dense_only.storage = "sparse";
    dense_only.qp_solver = "daqp";
    EXPECT_NE(invalid_argument_message([&] { Layer layer(dense_only); }).find("qp_solver 'daqp'"),
              std::string::npos);
  }
  Settings dense_linear;
  dense_linear.storage = "sparse";
  dense_linear.lin_solver = "lu";
  EXPECT_NE(invalid_argument_message([&] { Layer layer(dense_linear); }).find("lin_solver 'lu'"),
            std::string::npos);
}

}  // namespace
}  // namespace dqp::test
