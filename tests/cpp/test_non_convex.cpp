// A P with negative curvature is reported as Status::NonConvex by every
// solver, dense and sparse; convex P, singular ones included, are not.
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// P = diag(1, -1, 1) with z >= 0: unbounded below along z1, and a solver's
// stationary point (z1 on a bound or not) is a saddle. Found "optimal" at
// z = (0, 0.757, 0.2) before the check.
DenseQP saddle_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Zero(3, 3);
  qp.P.diagonal() << 1.0, -1.0, 1.0;
  qp.q = Vector(3);
  qp.q << 0.3, -0.2, -0.2;
  qp.C = -RowMatrix::Identity(3, 3);
  qp.d = Vector::Zero(3);
  qp.A = RowMatrix::Zero(0, 3);
  qp.b = Vector::Zero(0);
  return qp;
}

// Every registered solver that takes the storage, and the default chain.
std::vector<std::string> solvers_for(bool sparse) {
  std::vector<std::string> names{"auto"};
  for (const SolverInfo& info : qp_solvers())
    if (sparse ? info.sparse : info.dense) names.push_back(info.name);
  return names;
}

void expect_non_convex(const Solution& s, const std::string& solver) {
  EXPECT_EQ(s.status, Status::NonConvex) << solver << " returned " << to_string(s.status);
  EXPECT_FALSE(s.differentiable()) << solver;
  EXPECT_TRUE(s.z.array().isNaN().all()) << solver;
}

TEST(NonConvex, StatusName) { EXPECT_STREQ(to_string(Status::NonConvex), "non_convex"); }

TEST(NonConvex, EverySolverDense) {
  const DenseQP qp = saddle_problem();
  for (const std::string& name : solvers_for(false)) {
    Settings settings;
    settings.qp_solver = name;
    expect_non_convex(Layer(settings).forward(qp.view()), name);
  }
}

TEST(NonConvex, EverySolverSparse) {
  const SparseQP qp = to_sparse(saddle_problem());
  for (const std::string& name : solvers_for(true)) {
    Settings settings;
    settings.qp_solver = name;
    expect_non_convex(Layer(settings).forward(qp.view()), name);
  }
}

TEST(NonConvex, IndefiniteWithoutNegativeDiagonal) {
  // [[1, 2], [2, 1]] has eigenvalues 3 and -1 and a positive diagonal.
  DenseQP qp = seed_problem();
  qp.P << 1.0, 2.0, 2.0, 1.0;
  expect_non_convex(Layer().forward(qp.view()), "auto");
  const SparseQP sparse = to_sparse(qp);
  expect_non_convex(Layer().forward(sparse.view()), "auto");
}

TEST(NonConvex, BatchMarksOnlyTheNonConvexProblem) {
  const DenseQP convex = seed_problem();
  DenseQP saddle = seed_problem();
  saddle.P(1, 1) = -2.0;
  const auto solutions = forward_batch(Layer(), {convex.view(), saddle.view()});
  EXPECT_EQ(solutions[0].status, Status::Optimal);
  EXPECT_EQ(solutions[1].status, Status::NonConvex);
}

TEST(NonConvex, ForwardFromAnExternalPointIsScreenedToo) {
  const DenseQP qp = saddle_problem();
  PrimalDual point;
  point.z = Vector::Zero(3);
  point.status = Status::Optimal;
  const Layer layer(Settings{}, nullptr);
  expect_non_convex(layer.forward_from(qp.view(), point), "forward_from");
}

TEST(NonConvex, ConvexSingularAndZeroPAreNotFlagged) {
  DenseQP qp = seed_problem();
  const Vector v = Eigen::Vector2d(1.0, 1.0);
  for (const RowMatrix& P : {RowMatrix(RowMatrix::Zero(2, 2)), RowMatrix(v * v.transpose()),
                             RowMatrix(1e-12 * v * v.transpose())}) {
    qp.P = P;
    qp.q = Eigen::Vector2d(1.0, 2.0);   // bounded on z1 + z2 >= 1, z >= 0
    const Solution dense = Layer().forward(qp.view());
    const SparseQP sparse_qp = to_sparse(qp);
    const Solution sparse = Layer().forward(sparse_qp.view());
    EXPECT_NE(dense.status, Status::NonConvex) << P;
    EXPECT_NE(sparse.status, Status::NonConvex) << P;
  }
}

TEST(NonConvex, RoundingBelowZeroIsNotFlagged) {
  // A Gram matrix of rank 2 in R^6: eigenvalues 0 up to rounding, some of
  // them slightly negative in floating point.
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  RowMatrix B(2, 6);
  for (Index i = 0; i < B.size(); ++i) B.data()[i] = normal(rng);
  DenseQP qp;
  qp.P = B.transpose() * B;
  qp.P = 0.5 * (qp.P + qp.P.transpose()).eval();
  qp.q = Vector::Ones(6);
  qp.C = -RowMatrix::Identity(6, 6);
  qp.d = Vector::Zero(6);
  qp.A = RowMatrix::Zero(0, 6);
  qp.b = Vector::Zero(0);
  EXPECT_EQ(Layer().forward(qp.view()).status, Status::Optimal);
  const SparseQP sparse = to_sparse(qp);
  EXPECT_EQ(Layer().forward(sparse.view()).status, Status::Optimal);
}

// A covariance-like matrix stored with six decimals, as problem files store
// it (Maros-Meszaros VALUES: entries to 1e-6, eigenvalues down to -1.2e-6
// relative): a rounded PSD matrix is convex, not a saddle.
TEST(NonConvex, DataRoundedToSixDecimalsIsNotFlagged) {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  const Index n = 60;
  RowMatrix B(3, n);
  for (Index i = 0; i < B.size(); ++i) B.data()[i] = normal(rng);
  RowMatrix P = B.transpose() * B / 40.0;
  P = P.unaryExpr([](double x) { return std::round(x * 1e6) / 1e6; }).eval();
  P = 0.5 * (P + P.transpose()).eval();
  const double smallest = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(P).eigenvalues().minCoeff();
  ASSERT_LT(smallest, -1e-7) << "the rounding must leave negative eigenvalues for this test to mean anything";
  DenseQP qp;
  qp.P = P;
  qp.q = Vector::Ones(n);
  qp.C = -RowMatrix::Identity(n, n);
  qp.d = Vector::Zero(n);
  qp.A = RowMatrix::Zero(0, n);
  qp.b = Vector::Zero(0);
  EXPECT_EQ(Layer().forward(qp.view()).status, Status::Optimal);
  const SparseQP sparse = to_sparse(qp);
  EXPECT_EQ(Layer().forward(sparse.view()).status, Status::Optimal);
  Settings strict;
  strict.check_psd = true;   // the full check agrees with the screen
  EXPECT_NO_THROW(Layer(strict).forward(qp.view()));
  EXPECT_NO_THROW(Layer(strict).forward(sparse.view()));
}

// Negative curvature of 1e-4 of ||P||_inf is meant, and caught: by the screen
// and by check_psd, dense and sparse.
TEST(NonConvex, SmallButRealNegativeCurvatureIsFlagged) {
  DenseQP qp = saddle_problem();
  qp.P.diagonal() << 1.0, -1e-4, 1.0;
  expect_non_convex(Layer().forward(qp.view()), "auto dense");
  const SparseQP sparse = to_sparse(qp);
  expect_non_convex(Layer().forward(sparse.view()), "auto sparse");
  Settings strict;
  strict.check_psd = true;
  EXPECT_THROW(Layer(strict).forward(qp.view()), std::invalid_argument);
  EXPECT_THROW(Layer(strict).forward(sparse.view()), std::invalid_argument);
}

}  // namespace
}  // namespace dqp::test
