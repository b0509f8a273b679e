// Built for the baseline instruction set (see CMakeLists.txt), as a program
// using an installed dqp through find_package would be: the library must work
// whatever flags its user compiles with. Eigen objects cross the API, and
// their layout depends on the instruction set (alignment), so a library built
// with -march=native must not leak that choice into its ABI.
#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

TEST(BaselineConsumer, SeedForwardBackwardDense) {
  ASSERT_TRUE(runs_without_crashing([] {
    const DenseQP qp = seed_problem();
    const Layer layer;
    const Solution s = layer.forward(qp.view());
    layer.backward(qp.view(), s, Vector::Ones(2), Vector(), Vector());
  }));
  const DenseQP qp = seed_problem();
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(0.5, 0.5), 1e-9));
  const Vector dz = qp.P * s.z + qp.q;
  const DenseGradients g = layer.backward(qp.view(), s, dz, Vector(), Vector());
  EXPECT_TRUE(near_relative(g.d, Eigen::Vector3d(-1, 0, 0), 1e-9));
}

TEST(BaselineConsumer, SeedForwardBackwardSparse) {
  ASSERT_TRUE(runs_without_crashing([] {
    const SparseQP qp = to_sparse(seed_problem());
    const Layer layer;
    const Solution s = layer.forward(qp.view());
    layer.backward(qp.view(), s, Vector::Ones(2), Vector(), Vector());
  }));
  const SparseQP qp = to_sparse(seed_problem());
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(0.5, 0.5), 1e-9));
}

}  // namespace
}  // namespace dqp::test
