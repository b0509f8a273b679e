// A P with negative curvature is reported as Status::NonConvex by every
// solver, dense and sparse; convex P, singular ones included, are not.
#include <cmath>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace dqp::test
