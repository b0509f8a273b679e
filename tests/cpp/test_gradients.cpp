// Backward pass: every gradient against central finite differences on random
// problems with a known, non-degenerate solution, and the closed forms of the
// envelope theorem.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

constexpr double kStep = 1e-6;        // central-difference step
constexpr double kTolerance = 1e-6;   // relative error, DESIGN.md's target

// Rows the solution leaves inactive get exactly zero gradient in C and d.
std::vector<bool> inactive_rows(const Solution& s) {
  std::vector<bool> inactive(s.mu.size(), true);
  for (Index i : s.active) inactive[i] = false;
  return inactive;
}

void expect_inactive_rows_zero(const DenseQP& qp, const Solution& s, const DenseGradients& g) {
  const std::vector<bool> inactive = inactive_rows(s);
  for (Index i = 0; i < qp.m(); ++i) {
    if (!inactive[i]) continue;
    EXPECT_EQ(g.d[i], 0.0) << "inactive row " << i;
    EXPECT_EQ(g.C.row(i).cwiseAbs().maxCoeff(), 0.0) << "inactive row " << i;
  }
}

void expect_inactive_rows_zero(const SparseQP& qp, const Solution& s, const SparseGradients& g) {
  const std::vector<bool> inactive = inactive_rows(s);
  for (Index i = 0; i < qp.m(); ++i) {
    if (inactive[i]) {
      EXPECT_EQ(g.d[i], 0.0) << "inactive row " << i;
    }
  }
  for (Index j = 0, k = 0; j < qp.C.outerSize(); ++j)
    for (SparseMatrix::InnerIterator it(qp.C, j); it; ++it, ++k) {
      if (inactive[it.row()]) {
        EXPECT_EQ(g.C[k], 0.0) << "inactive row " << it.row();
      }
    }
}

Vector paired_P(const SparseQP& qp, const SparseGradients& g) { return paired(qp.P, g.P); }
Vector flat(const RowMatrix& M) { return M.reshaped<Eigen::RowMajor>(); }
Vector flat(const Vector& v) { return v; }

// P's gradient with P_ij and P_ji paired, as fd_gradients measures it.
Vector paired_P(const DenseQP&, const DenseGradients& g) { return flat(paired(g.P)); }

// Analytic gradients of a random linear loss against finite differences.
template <class QP>
void check_against_finite_differences(const Layer& layer, const GeneratedQP& generated,
                                      const QP& qp, std::mt19937& rng) {
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  // The problem is non-degenerate by construction; if the layer disagrees the
  // comparison below is meaningless.
  ASSERT_EQ(s.active, generated.optimum.active);
  ASSERT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);

  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  const auto g = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  const auto fd = fd_gradients(layer, qp, loss, kStep);

  EXPECT_TRUE(near_relative(paired_P(qp, g), flat(fd.P), kTolerance)) << "P";
  EXPECT_TRUE(near_relative(g.q, fd.q, kTolerance)) << "q";
  EXPECT_TRUE(near_relative(flat(g.C), flat(fd.C), kTolerance)) << "C";
  EXPECT_TRUE(near_relative(g.d, fd.d, kTolerance)) << "d";
  EXPECT_TRUE(near_relative(flat(g.A), flat(fd.A), kTolerance)) << "A";
  EXPECT_TRUE(near_relative(g.b, fd.b, kTolerance)) << "b";
  expect_inactive_rows_zero(qp, s, g);
}

void check_random(Constraints kinds, int count, unsigned seed, bool sparse,
                  const Settings& settings = {}) {
  std::mt19937 rng(seed);
  const Layer layer(settings);
  for (int trial = 0; trial < count; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, kinds, sparse ? 0.35 : 1.0));
    if (sparse)
      check_against_finite_differences(layer, g, to_sparse(g.qp), rng);
    else
      check_against_finite_differences(layer, g, g.qp, rng);
  }
}

// 120 dense + 80 sparse problems.
TEST(Gradients, DenseBoth) { check_random(Constraints::Both, 60, 101, false); }
TEST(Gradients, DenseInequalitiesOnly) { check_random(Constraints::InequalitiesOnly, 30, 102, false); }
TEST(Gradients, DenseEqualitiesOnly) { check_random(Constraints::EqualitiesOnly, 30, 103, false); }
// Every sparse linear solver that factors K, on the sparse problems above
// (KLU's threshold pivoting left 1e-10 relative errors on trial 2 before
// solves were refined).
TEST(Gradients, SparseWithEachLinearSolver) {
  for (const LinearSolverInfo& info : linear_solvers()) {
    if (!info.sparse || info.least_squares) continue;
    SCOPED_TRACE(info.name);
    Settings settings;
    settings.lin_solver = info.name;
    check_random(Constraints::Both, 8, 104, true, settings);
  }
}
TEST(Gradients, SparseBoth) { check_random(Constraints::Both, 40, 104, true); }
TEST(Gradients, SparseInequalitiesOnly) { check_random(Constraints::InequalitiesOnly, 20, 105, true); }
TEST(Gradients, SparseEqualitiesOnly) { check_random(Constraints::EqualitiesOnly, 20, 106, true); }

TEST(Gradients, SelectionComputesOnlyWhatIsAsked) {
  std::mt19937 rng(109);
  const GeneratedQP generated = random_qp(rng, {7, 2, 3, 6, 0.5});
  const SparseQP sparse = to_sparse(generated.qp);
  const Layer layer;
  const LinearLoss loss = random_loss(rng, 7, 2, 6);
  GradientSelection matrices_only{true, false, true, false, true, false};
  for (const GradientSelection& wanted :
       {GradientSelection::all(), GradientSelection::vectors_only(), matrices_only,
        GradientSelection{false, true, false, false, false, false}}) {
    const Solution dense_solution = layer.forward(generated.qp.view());
    expect_selected(layer.backward(generated.qp.view(), dense_solution, loss.wz, loss.wlam,
                                   loss.wmu, wanted),
                    layer.backward(generated.qp.view(), dense_solution, loss.wz, loss.wlam,
                                   loss.wmu),
                    wanted);
    const Solution sparse_solution = layer.forward(sparse.view());
    expect_selected(layer.backward(sparse.view(), sparse_solution, loss.wz, loss.wlam, loss.wmu,
                                   wanted),
                    layer.backward(sparse.view(), sparse_solution, loss.wz, loss.wlam, loss.wmu),
                    wanted);
  }
}

// The options that change how the point is computed do not change the
// derivative: normalized rows (rescaled back) and recovered duals.
TEST(Gradients, NormalizedAndRecoveredDuals) {
  Settings settings;
  settings.normalize_constraints = true;
  settings.dual_available = false;
  check_random(Constraints::Both, 10, 107, false, settings);
  check_random(Constraints::Both, 10, 108, true, settings);
}

// An explicitly stored zero is part of the pattern: it gets its own gradient
// slot, in storage order, and that value is a true derivative.
TEST(Gradients, SparseExplicitZerosKeepTheirSlot) {
  std::mt19937 rng(110);
  const GeneratedQP g = random_qp(rng, {6, 1, 2, 5, 0.5});
  SparseQP qp = to_sparse(g.qp);
  // Store C's zero entries explicitly (the row keeps its values, so the
  // problem is unchanged).
  std::vector<Eigen::Triplet<double, Index>> entries;
  for (Index i = 0; i < g.qp.m(); ++i)
    for (Index j = 0; j < g.qp.n(); ++j) entries.emplace_back(i, j, g.qp.C(i, j));
  qp.C.setFromTriplets(entries.begin(), entries.end());
  qp.C.makeCompressed();
  ASSERT_EQ(qp.C.nonZeros(), g.qp.m() * g.qp.n());
  ASSERT_GT(qp.C.nonZeros(), to_sparse(g.qp.C).nonZeros()) << "some zeros must be stored";

  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  const SparseGradients grad = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  ASSERT_EQ(grad.C.size(), qp.C.nonZeros());
  // Dense C has the same values; its row-major gradient reordered to CSC.
  const DenseGradients dense = layer.backward(g.qp.view(), layer.forward(g.qp.view()), loss.wz,
                                              loss.wlam, loss.wmu);
  Vector expected(qp.C.nonZeros());
  for (Index j = 0, k = 0; j < qp.C.outerSize(); ++j)
    for (SparseMatrix::InnerIterator it(qp.C, j); it; ++it, ++k) expected[k] = dense.C(it.row(), j);
  EXPECT_TRUE(near_relative(grad.C, expected, 1e-9));
  const SparseGradients fd = fd_gradients(layer, qp, loss, kStep);
  EXPECT_TRUE(near_relative(grad.C, fd.C, kTolerance));
}

// A larger sparse problem (n = 120) against a central difference along one
// random direction in all six data at once.
TEST(Gradients, LargerSparseDirectionalDerivative) {
  std::mt19937 rng(111);
  const GeneratedQP g = random_qp(rng, {120, 20, 30, 70, 0.05});
  const SparseQP qp = to_sparse(g.qp);
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  ASSERT_EQ(s.active, g.optimum.active);
  const LinearLoss loss = random_loss(rng, qp.n(), qp.p(), qp.m());
  const SparseGradients grad = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);

  // Direction: P's entries and their transposed partners move together.
  SparseQP direction = qp;
  std::normal_distribution<double> normal;
  for (Eigen::Map<Vector> v : {values(direction.C), values(direction.A)})
    for (double& x : v) x = normal(rng);
  for (Vector* v : {&direction.q, &direction.d, &direction.b})
    for (double& x : *v) x = normal(rng);
  const SparseMatrix upper = SparseMatrix(qp.P.triangularView<Eigen::Upper>());
  SparseMatrix noise = upper;
  for (double& x : values(noise)) x = normal(rng);
  direction.P = SparseMatrix(noise.selfadjointView<Eigen::Upper>());
  ASSERT_EQ(direction.P.nonZeros(), qp.P.nonZeros());  // same pattern, same order

  const double predicted = grad.P.dot(values(direction.P)) + grad.C.dot(values(direction.C)) +
                           grad.A.dot(values(direction.A)) + grad.q.dot(direction.q) +
                           grad.d.dot(direction.d) + grad.b.dot(direction.b);

  SparseQP moved = qp;
  const auto loss_at = [&](double t) {
    values(moved.P) = values(qp.P) + t * values(direction.P);
    values(moved.C) = values(qp.C) + t * values(direction.C);
    values(moved.A) = values(qp.A) + t * values(direction.A);
    moved.q = qp.q + t * direction.q;
    moved.d = qp.d + t * direction.d;
    moved.b = qp.b + t * direction.b;
    const Solution m = layer.forward(moved.view());
    EXPECT_EQ(m.active, s.active);
    return loss(m);
  };
  const double measured = (loss_at(kStep) - loss_at(-kStep)) / (2 * kStep);
  EXPECT_NEAR(predicted, measured, kTolerance * std::max(1.0, std::abs(measured)));
}

// The seed's published gradients for dz = Pz + q (the optimal value's
// gradient in z): dP = 0, dq = 0, dC row 0 = (1/2, 1/2), dd = (-1, 0, 0).
TEST(Gradients, SeedExampleDense) {
  const DenseQP qp = seed_problem();
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  const Vector dz = qp.P * s.z + qp.q;
  const DenseGradients g = layer.backward(qp.view(), s, dz, Vector(), Vector());
  RowMatrix C(3, 2);
  C << 0.5, 0.5, 0, 0, 0, 0;
  EXPECT_TRUE(near_relative(g.P, RowMatrix::Zero(2, 2), 1e-9, 1.0));
  EXPECT_TRUE(near_relative(g.q, Vector::Zero(2), 1e-9, 1.0));
  EXPECT_TRUE(near_relative(g.C, C, 1e-9));
  EXPECT_TRUE(near_relative(g.d, Eigen::Vector3d(-1, 0, 0), 1e-9));
  EXPECT_EQ(g.A.rows(), 0);
  EXPECT_EQ(g.A.cols(), 2);
  EXPECT_EQ(g.b.size(), 0);
}

// Same in CSC storage: C's values are stored (0,0), (1,0), (0,1), (2,1).
TEST(Gradients, SeedExampleSparseStorageOrder) {
  const SparseQP qp = to_sparse(seed_problem());
  ASSERT_EQ(qp.C.nonZeros(), 4);
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  const Vector dz = qp.P * s.z + qp.q;
  const SparseGradients g = layer.backward(qp.view(), s, dz, Vector(), Vector());
  EXPECT_TRUE(near_relative(g.P, Vector::Zero(2), 1e-9, 1.0));
  EXPECT_TRUE(near_relative(g.q, Vector::Zero(2), 1e-9, 1.0));
  EXPECT_TRUE(near_relative(g.C, Eigen::Vector4d(0.5, 0, 0.5, 0), 1e-9));
  EXPECT_TRUE(near_relative(g.d, Eigen::Vector3d(-1, 0, 0), 1e-9));
  EXPECT_EQ(g.A.size(), 0);
  EXPECT_EQ(g.b.size(), 0);
}

// Loss = optimal value ½zᵀPz + qᵀz. Adding its direct terms (½zzᵀ to P, z to
// q) to the layer's gradients gives the envelope theorem's closed forms:
// ∇P = ½zzᵀ, ∇q = z, ∇C = μzᵀ, ∇d = −μ, ∇A = λzᵀ, ∇b = −λ.
void expect_envelope(const DenseQP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  const Vector& z = s.z;
  const Vector dz = qp.P * z + qp.q;
  const DenseGradients g = layer.backward(qp.view(), s, dz, Vector(), Vector());
  const RowMatrix half_zz = 0.5 * z * z.transpose();
  EXPECT_TRUE(near_relative(RowMatrix(g.P + half_zz), half_zz, 1e-8)) << "P";
  EXPECT_TRUE(near_relative(Vector(g.q + z), z, 1e-8)) << "q";
  EXPECT_TRUE(near_relative(g.C, RowMatrix(s.mu * z.transpose()), 1e-8)) << "C";
  EXPECT_TRUE(near_relative(g.d, Vector(-s.mu), 1e-8)) << "d";
  EXPECT_TRUE(near_relative(g.A, RowMatrix(s.lam * z.transpose()), 1e-8)) << "A";
  EXPECT_TRUE(near_relative(g.b, Vector(-s.lam), 1e-8)) << "b";
}

TEST(Gradients, EnvelopeTheoremSeed) { expect_envelope(seed_problem()); }

TEST(Gradients, EnvelopeTheoremRandom) {
  std::mt19937 rng(109);
  for (int trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_envelope(random_qp(rng, random_shape(rng, Constraints::Both)).qp);
  }
}

}  // namespace
}  // namespace dqp::test
