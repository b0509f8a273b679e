// Degenerate solutions: the derivative is not unique (or the reduced KKT
// matrix is singular), yet everything stays finite and the solution says why.
#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

constexpr double kDegenerateExact = 1e-8;

template <class Gradients>
bool all_finite(const Gradients& g) {
  return g.P.allFinite() && g.q.allFinite() && g.C.allFinite() && g.d.allFinite() &&
         g.A.allFinite() && g.b.allFinite();
}

// Backward with incoming gradients on every output.
template <class QP>
auto backward_all(const Layer& layer, const QP& qp, const Solution& s) {
  const Vector dz = Vector::LinSpaced(qp.n(), 1.0, 2.0);
  const Vector dlam = Vector::Constant(qp.p(), 0.5);
  const Vector dmu = Vector::Constant(qp.m(), -0.25);
  return layer.backward(qp.view(), s, dz, dlam, dmu);
}

// Backward with an incoming gradient on z only.
template <class QP>
auto backward_z(const Layer& layer, const QP& qp, const Solution& s) {
  return layer.backward(qp.view(), s, Vector::LinSpaced(qp.n(), 1.0, 2.0), Vector(), Vector());
}

bool has(unsigned flags, Degeneracy bit) { return (flags & bit) != 0; }

// Three constraints through the vertex (1, 1) of the plane: z1 >= 1, z2 >= 1,
// z1 + z2 >= 2; min ½||z||². The duals are not unique.
DenseQP vertex_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Vector::Zero(2);
  qp.C.resize(3, 2);
  qp.C << -1, 0, 0, -1, -1, -1;
  qp.d = Eigen::Vector3d(-1, -1, -2);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

template <class QP>
void check_vertex(const QP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(1, 1), kDegenerateExact));
  EXPECT_EQ(s.active, (std::vector<Index>{0, 1, 2}));
  EXPECT_TRUE(s.degenerate());
  EXPECT_TRUE(has(s.degeneracy, kTooManyActive)) << describe_degeneracy(s.degeneracy);
  EXPECT_TRUE(has(s.degeneracy, kSingularKKT)) << describe_degeneracy(s.degeneracy);
  EXPECT_TRUE(s.mu.allFinite());
  EXPECT_LE(kkt_violation(qp.view(), s), 1e-6);  // any dual in the solution set

  EXPECT_TRUE(all_finite(backward_all(layer, qp, s)));
  const auto g = backward_z(layer, qp, s);
  EXPECT_TRUE(all_finite(g));
  // z is pinned to the vertex whatever q and P do nearby: those parts of the
  // derivative are unique, and zero.
  EXPECT_TRUE(near_relative(g.q, Vector::Zero(2), kDegenerateExact, 1.0)) << "q";
  EXPECT_LE(g.P.cwiseAbs().maxCoeff(), kDegenerateExact) << "P";
}

TEST(Degenerate, MoreActiveThanVariablesDense) { check_vertex(vertex_problem()); }
TEST(Degenerate, MoreActiveThanVariablesSparse) { check_vertex(to_sparse(vertex_problem())); }

// z1 + z2 = 1 stated twice (once scaled): Ã has dependent rows, lam is not
// unique, z is.
DenseQP dependent_equalities_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Vector::Zero(2);
  qp.C = RowMatrix(0, 2);
  qp.d = Vector(0);
  qp.A.resize(2, 2);
  qp.A << 1, 1, 2, 2;
  qp.b = Eigen::Vector2d(1, 2);
  return qp;
}

template <class QP>
void check_dependent_equalities(const QP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(0.5, 0.5), kDegenerateExact));
  EXPECT_TRUE(has(s.degeneracy, kSingularKKT)) << describe_degeneracy(s.degeneracy);
  EXPECT_FALSE(has(s.degeneracy, kTooManyActive)) << "p + |active| = n is not too many";
  EXPECT_TRUE(s.lam.allFinite());
  EXPECT_LE(kkt_violation(qp.view(), s), 1e-6);

  EXPECT_TRUE(all_finite(backward_all(layer, qp, s)));
  const auto g = backward_z(layer, qp, s);
  EXPECT_TRUE(all_finite(g));
  // z moves with q only along the line: dz/dq = -(I - ½·11ᵀ), so for
  // dz = (1, 2) the q gradient is unique: (0.5, -0.5).
  EXPECT_TRUE(near_relative(g.q, Eigen::Vector2d(0.5, -0.5), kDegenerateExact)) << "q";
}

TEST(Degenerate, DependentEqualityRowsDense) { check_dependent_equalities(dependent_equalities_problem()); }
TEST(Degenerate, DependentEqualityRowsSparse) {
  check_dependent_equalities(to_sparse(dependent_equalities_problem()));
}

// min ½||z||² - z1 s.t. z1 <= 1: the unconstrained minimizer lies exactly on
// the boundary, so the row is active with a zero dual.
DenseQP weakly_active_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Eigen::Vector2d(-1, 0);
  qp.C.resize(1, 2);
  qp.C << 1, 0;
  qp.d = Vector::Ones(1);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

template <class QP>
void check_weakly_active(const QP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(1, 0), kDegenerateExact));
  EXPECT_EQ(s.active, (std::vector<Index>{0}));
  EXPECT_NEAR(s.mu[0], 0.0, kDegenerateExact);
  EXPECT_EQ(s.degeneracy, unsigned{kWeaklyActive}) << describe_degeneracy(s.degeneracy);

  const auto g = backward_all(layer, qp, s);
  EXPECT_TRUE(all_finite(g));
  // The derivative is one-sided; either side is a valid choice. Row kept as
  // an equality: z = (1, -q2), mu = -(1 + q1); dropped: z = -q, mu = 0. With
  // dz = (1, 2) and dmu = -1/4 that makes dq = (1/4, -2) or (-1, -2).
  const Eigen::Vector2d kept(0.25, -2.0), dropped(-1.0, -2.0);
  EXPECT_TRUE(relative_error(g.q, kept) <= kDegenerateExact ||
              relative_error(g.q, dropped) <= kDegenerateExact)
      << "q gradient " << g.q.transpose();
}

TEST(Degenerate, WeaklyActiveDense) { check_weakly_active(weakly_active_problem()); }
TEST(Degenerate, WeaklyActiveSparse) { check_weakly_active(to_sparse(weakly_active_problem())); }

// A solver that answers one fixed point: what an imprecise solver would.
class FixedPoint final : public QPSolver {
 public:
  explicit FixedPoint(PrimalDual point) : point_(std::move(point)) {}
  SolverInfo info() const override { return {"fixed_point", true, true, true, false}; }
  PrimalDual solve(const DenseProblem&, const Settings&, const PrimalDual*) const override { return point_; }
  PrimalDual solve(const SparseProblem&, const Settings&, const PrimalDual*) const override { return point_; }

 private:
  PrimalDual point_;
};

PrimalDual optimal_point(Vector z, Vector lam, Vector mu) {
  PrimalDual out;
  out.z = std::move(z);
  out.lam = std::move(lam);
  out.mu = std::move(mu);
  out.has_duals = true;
  out.status = Status::Optimal;
  return out;
}

// An interior-point solver stops short of the weakly active row (slack 2e-5,
// above eps_active, zero dual): the row is left out of the active set, the
// polished point lands on it, and the solution must still say so.
TEST(Degenerate, WeaklyActiveRowOutsideTheActiveSetIsFlagged) {
  const Layer layer(Settings{}, std::make_shared<FixedPoint>(optimal_point(
                                    Eigen::Vector2d(1.0 - 2e-5, 0.0), Vector(0), Vector::Zero(1))));
  const DenseQP qp = weakly_active_problem();
  for (const bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    const SparseQP sparse_qp = to_sparse(qp);
    const Solution s = sparse ? layer.forward(sparse_qp.view()) : layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.polished);
    EXPECT_TRUE(s.active.empty());
    EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(1, 0), kDegenerateExact));
    EXPECT_EQ(s.degeneracy, unsigned{kWeaklyActive}) << describe_degeneracy(s.degeneracy);
  }
}

// min ½||z||² - 2 z1 - z2 s.t. z1 <= 1, z2 <= 1 + 5e-6: the second row is
// inactive (z2 = 1) but within eps_active of its bound, and with it as an
// equality the polished dual is -5e-6. The repair step drops it: the point
// polishes, and the derivative sees z2 free (dz2/dq2 = -1), not pinned (0).
TEST(Degenerate, ARowWithANegativePolishedDualIsDropped) {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Eigen::Vector2d(-2, -1);
  qp.C = RowMatrix::Identity(2, 2);
  qp.d = Eigen::Vector2d(1.0, 1.0 + 5e-6);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  const Layer layer(Settings{}, std::make_shared<FixedPoint>(optimal_point(
                                    Eigen::Vector2d(1, 1), Vector(0), Eigen::Vector2d(1, 0))));
  for (const bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    const SparseQP sparse_qp = to_sparse(qp);
    const Solution s = sparse ? layer.forward(sparse_qp.view()) : layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.polished);
    EXPECT_EQ(s.active, (std::vector<Index>{0}));
    EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(1, 1), kDegenerateExact));
    EXPECT_TRUE(near_relative(s.mu, Eigen::Vector2d(1, 0), kDegenerateExact));
    // L = z1 + 2 z2 with z1 = d1 (active) and z2 = -q2 (free): ∇q = (0, -2),
    // ∇d = (1, 0). With the second row kept it would be ∇q = 0, ∇d = (1, 2).
    const Vector gq = sparse ? backward_z(layer, to_sparse(qp), s).q : backward_z(layer, qp, s).q;
    const Vector gd = sparse ? backward_z(layer, to_sparse(qp), s).d : backward_z(layer, qp, s).d;
    EXPECT_TRUE(near_relative(gq, Eigen::Vector2d(0, -2), kDegenerateExact)) << gq.transpose();
    EXPECT_TRUE(near_relative(gd, Eigen::Vector2d(1, 0), kDegenerateExact)) << gd.transpose();
  }
}

// P = [[2,1,0],[1,2,0],[0,0,0]] is singular; z3 >= 0 (active, dual 1) pins
// the flat direction, z1 + z2 + z3 <= 5 stays inactive. The solution, and the
// derivative, are unique: not degenerate.
DenseQP singular_P_problem() {
  DenseQP qp;
  qp.P.resize(3, 3);
  qp.P << 2, 1, 0, 1, 2, 0, 0, 0, 0;
  qp.q = Eigen::Vector3d(1, 0, 1);
  qp.C.resize(2, 3);
  qp.C << 0, 0, -1, 1, 1, 1;
  qp.d = Eigen::Vector2d(0, 5);
  qp.A = RowMatrix(0, 3);
  qp.b = Vector(0);
  return qp;
}

template <class QP>
void check_singular_P(QP qp) {
  Settings settings;
  settings.check_psd = true;  // singular but PSD: accepted
  const Layer layer(settings);
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  // Stationarity: [[2,1],[1,2]] z12 = -(1, 0) gives z12 = (-2/3, 1/3); mu = (1, 0).
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector3d(-2.0 / 3, 1.0 / 3, 0), kDegenerateExact));
  EXPECT_TRUE(near_relative(s.mu, Eigen::Vector2d(1, 0), kDegenerateExact));
  EXPECT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);

  const auto g = backward_all(layer, qp, s);
  ASSERT_TRUE(all_finite(g));
  // q, d and C against finite differences (P cannot move without leaving the
  // PSD cone in its flat direction).
  const Vector dz = Vector::LinSpaced(3, 1.0, 2.0), dmu = Vector::Constant(2, -0.25);
  const auto loss = [&] {
    const Solution t = layer.forward(qp.view());
    return dz.dot(t.z) + dmu.dot(t.mu);
  };
  for (Index i = 0; i < 3; ++i)
    EXPECT_NEAR(g.q[i], central_difference({&qp.q[i]}, 1e-6, loss), 1e-6) << "q" << i;
  for (Index i = 0; i < 2; ++i)
    EXPECT_NEAR(g.d[i], central_difference({&qp.d[i]}, 1e-6, loss), 1e-6) << "d" << i;
  Eigen::Map<Vector> C = values(qp.C);
  const Eigen::Map<const Vector> gC(g.C.data(), g.C.size());  // same storage order
  for (Index k = 0; k < C.size(); ++k)
    EXPECT_NEAR(gC[k], central_difference({&C[k]}, 1e-6, loss), 1e-6) << "C value " << k;
}

TEST(Degenerate, SingularPDense) { check_singular_P(singular_P_problem()); }
TEST(Degenerate, SingularPSparse) { check_singular_P(to_sparse(singular_P_problem())); }

// P = [[1, 1], [1, 1 + δ]], δ = 4e-15: rank one up to a rounding-size term,
// no constraints. K = P is numerically singular (cond ~ 1e15) with no zero
// pivot. The old dense path took it as regular in the least-squares solver
// (its rank threshold, ε·size, is below δ) and the sparse one in KLU, and
// returned ∇q = -P⁻¹ dz ~ 1e14, rounding errors. Now it is flagged singular
// and the derivative is the minimum-norm one, of the singular P: with
// dz = (1, 2), ∇q = -P⁺ dz = -(3/4, 3/4), in both storages.
DenseQP nearly_singular_P_problem() {
  DenseQP qp;
  qp.P.resize(2, 2);
  qp.P << 1.0, 1.0, 1.0, 1.0 + 4e-15;
  qp.q = Eigen::Vector2d(-1.0, -1.0);
  qp.C = RowMatrix(0, 2);
  qp.d = Vector(0);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

template <class QP>
void check_nearly_singular_P(const QP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(has(s.degeneracy, kSingularKKT)) << describe_degeneracy(s.degeneracy);
  EXPECT_LE(kkt_violation(qp.view(), s), 1e-6);
  const auto g = backward_z(layer, qp, s);
  ASSERT_TRUE(all_finite(g));
  EXPECT_TRUE(near_relative(g.q, Eigen::Vector2d(-0.75, -0.75), kDegenerateExact))
      << s.linear_solver();
}

TEST(Degenerate, NearlySingularPGivesTheMinimumNormDerivativeDense) {
  check_nearly_singular_P(nearly_singular_P_problem());
}
TEST(Degenerate, NearlySingularPGivesTheMinimumNormDerivativeSparse) {
  check_nearly_singular_P(to_sparse(nearly_singular_P_problem()));
}

// z is pinned by A z = b (A = I) and the inequality z1 <= 0 is active too
// (LICQ fails). Minimum-norm least squares gives mu = -0.75; a valid dual is
// mu = 0, lam = (-1.5, 0). Recovered duals must keep mu >= 0 (found by the
// atheris fuzzer).
DenseQP pinned_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Eigen::Vector2d(1.5, 0.0);
  qp.C = RowMatrix(1, 2);
  qp.C << 1.0, 0.0;
  qp.d = Vector::Zero(1);
  qp.A = RowMatrix::Identity(2, 2);
  qp.b = Vector::Zero(2);
  return qp;
}

template <class QP>
void check_recovered_duals_nonnegative(const QP& qp) {
  for (const bool polish : {true, false}) {
    SCOPED_TRACE(polish ? "polish" : "no polish");
    Settings settings;
    settings.qp_solver = "proxqp";
    settings.dual_available = false;
    settings.polish = polish;
    const Layer layer(settings);
    const Solution s = layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.duals_recovered);
    EXPECT_GE(s.mu.minCoeff(), 0.0) << "mu = " << s.mu.transpose();
    EXPECT_LE(kkt_violation(qp.view(), s), 1e-6);
    EXPECT_TRUE(all_finite(backward_all(layer, qp, s)));
  }
}

TEST(Degenerate, RecoveredDualsStayNonnegativeDense) { check_recovered_duals_nonnegative(pinned_problem()); }
TEST(Degenerate, RecoveredDualsStayNonnegativeSparse) {
  check_recovered_duals_nonnegative(to_sparse(pinned_problem()));
}

}  // namespace
}  // namespace dqp::test
