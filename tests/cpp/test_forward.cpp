// Forward pass: solutions, active sets, duals and the options that change how
// they are computed.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// Polished solutions come from one reduced-KKT solve: accurate to rounding.
constexpr double kForwardExact = 1e-9;

void expect_seed_solution(const Solution& s) {
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, Eigen::Vector2d(0.5, 0.5), kForwardExact));
  EXPECT_TRUE(near_relative(s.mu, Eigen::Vector3d(1.0, 0.0, 0.0), kForwardExact));
  EXPECT_EQ(s.lam.size(), 0);
  EXPECT_EQ(s.active, std::vector<Index>{0});
  EXPECT_EQ(s.degeneracy, kNotDegenerate);
  EXPECT_TRUE(s.differentiable());
}

TEST(Forward, SeedExampleDense) {
  const DenseQP qp = seed_problem();
  const Solution s = Layer().forward(qp.view());
  expect_seed_solution(s);
  EXPECT_LE(kkt_violation(qp.view(), s), kForwardExact);
}

TEST(Forward, SeedExampleSparse) {
  const SparseQP qp = to_sparse(seed_problem());
  const Solution s = Layer().forward(qp.view());
  expect_seed_solution(s);
  EXPECT_LE(kkt_violation(qp.view(), s), kForwardExact);
}

// The generated problems have a known solution: the forward pass must find it,
// with its active set, and satisfy KKT to rounding.
template <class ToQP>
void check_known_solutions(Constraints kinds, double density, unsigned seed, ToQP to_qp) {
  std::mt19937 rng(seed);
  const Layer layer;
  for (int trial = 0; trial < 15; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, kinds, density));
    const auto qp = to_qp(g.qp);
    const Solution s = layer.forward(qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(near_relative(s.z, g.optimum.z, kForwardExact, 1.0));
    EXPECT_TRUE(near_relative(s.lam, g.optimum.lam, kForwardExact, 1.0));
    EXPECT_TRUE(near_relative(s.mu, g.optimum.mu, kForwardExact, 1.0));
    EXPECT_EQ(s.active, g.optimum.active);
    EXPECT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
    EXPECT_TRUE(s.polished);
    EXPECT_LE(kkt_violation(qp.view(), s), kForwardExact);
    EXPECT_LE(s.kkt_residual, kForwardExact);  // the core's own measure agrees
  }
}

const auto as_dense = [](const DenseQP& qp) { return qp; };
const auto as_sparse = [](const DenseQP& qp) { return to_sparse(qp); };

TEST(Forward, EqualityOnlyDense) { check_known_solutions(Constraints::EqualitiesOnly, 1.0, 11, as_dense); }
TEST(Forward, EqualityOnlySparse) { check_known_solutions(Constraints::EqualitiesOnly, 0.4, 12, as_sparse); }
TEST(Forward, InequalityOnlyDense) { check_known_solutions(Constraints::InequalitiesOnly, 1.0, 13, as_dense); }
TEST(Forward, InequalityOnlySparse) { check_known_solutions(Constraints::InequalitiesOnly, 0.4, 14, as_sparse); }
TEST(Forward, BothDense) { check_known_solutions(Constraints::Both, 1.0, 15, as_dense); }
TEST(Forward, BothSparse) { check_known_solutions(Constraints::Both, 0.4, 16, as_sparse); }

// Rows outside the active set have exactly zero dual, whether the duals come
// from polishing or straight from the solver.
TEST(Forward, InactiveDualsAreExactlyZero) {
  std::mt19937 rng(21);
  for (bool polish : {true, false}) {
    Settings settings;
    settings.polish = polish;
    const Layer layer(settings);
    for (int trial = 0; trial < 10; ++trial) {
      SCOPED_TRACE("polish " + std::to_string(polish) + ", trial " + std::to_string(trial));
      const GeneratedQP g = random_qp(rng, random_shape(rng, Constraints::Both));
      const Solution s = layer.forward(g.qp.view());
      ASSERT_EQ(s.status, Status::Optimal);
      ASSERT_EQ(s.active, g.optimum.active);
      for (Index i = 0; i < g.qp.m(); ++i)
        if (g.optimum.mu[i] == 0.0) {
          EXPECT_EQ(s.mu[i], 0.0) << "row " << i;
        }
    }
  }
}

// dual_available = false makes the core recover the duals itself; they must be
// the solver's duals.
TEST(Forward, RecoveredDualsEqualSolverDuals) {
  std::mt19937 rng(22);
  Settings recover;
  recover.dual_available = false;
  const Layer native, recovering(recover);
  for (int trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, Constraints::Both, trial % 2 ? 0.4 : 1.0));
    const auto check = [&](const auto& qp) {
      const Solution a = native.forward(qp.view());
      const Solution b = recovering.forward(qp.view());
      ASSERT_EQ(a.status, Status::Optimal);
      ASSERT_EQ(b.status, Status::Optimal);
      EXPECT_FALSE(a.duals_recovered);
      EXPECT_TRUE(b.duals_recovered);
      EXPECT_TRUE(near_relative(b.lam, a.lam, kForwardExact, 1.0));
      EXPECT_TRUE(near_relative(b.mu, a.mu, kForwardExact, 1.0));
      EXPECT_TRUE(near_relative(b.mu, g.optimum.mu, kForwardExact, 1.0));
    };
    check(g.qp);
    check(to_sparse(g.qp));
  }
}

// A point from elsewhere without duals (as a Python solver would give):
// forward_from recovers the duals.
TEST(Forward, ForwardFromRecoversDuals) {
  std::mt19937 rng(23);
  const Layer layer(Settings{}, nullptr);
  for (int trial = 0; trial < 10; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, random_shape(rng, Constraints::Both));
    PrimalDual point;
    point.z = g.optimum.z;
    point.status = Status::Optimal;
    const Solution s = layer.forward_from(g.qp.view(), point);
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_TRUE(s.duals_recovered);
    EXPECT_EQ(s.active, g.optimum.active);
    EXPECT_TRUE(near_relative(s.lam, g.optimum.lam, kForwardExact, 1.0));
    EXPECT_TRUE(near_relative(s.mu, g.optimum.mu, kForwardExact, 1.0));
  }
}

// With polish off, dual recovery must not move z: DESIGN.md recovers the
// duals "with z fixed", and Settings::polish documents that only polishing
// takes the reduced-KKT z.
TEST(Forward, DualRecoveryWithPolishOffKeepsSolverPrimal) {
  std::mt19937 rng(24);
  Settings keep_duals, recover;
  keep_duals.polish = recover.polish = false;
  recover.dual_available = false;
  const GeneratedQP g = random_qp(rng, {6, 1, 2, 4, 1.0});
  const Solution solver_point = Layer(keep_duals).forward(g.qp.view());
  const Solution s = Layer(recover).forward(g.qp.view());
  ASSERT_EQ(solver_point.status, Status::Optimal);
  ASSERT_EQ(s.status, Status::Optimal);
  ASSERT_FALSE(solver_point.polished);
  EXPECT_FALSE(s.polished);
  EXPECT_EQ(s.z, solver_point.z) << "z moved by " << (s.z - solver_point.z).norm();
}

// Rows scaled by factors in [0.1, 10]: normalization changes what the solver
// sees, not the answer or its derivative. (Much wider scales defeat the plain
// path: eps_active is then a raw residual, and ProxQP may misreport
// infeasibility.)
TEST(Forward, NormalizationInvariance) {
  std::mt19937 rng(25);
  Settings on;
  on.normalize_constraints = true;
  const Layer plain, normalizing(on);
  for (int trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    GeneratedQP g = random_qp(rng, random_shape(rng, Constraints::Both, trial % 2 ? 0.4 : 1.0));
    std::uniform_real_distribution<double> exponent(-1.0, 1.0);
    for (Index i = 0; i < g.qp.m(); ++i) {
      const double s = std::pow(10.0, exponent(rng));
      g.qp.C.row(i) *= s;
      g.qp.d[i] *= s;
    }
    for (Index i = 0; i < g.qp.p(); ++i) {
      const double s = std::pow(10.0, exponent(rng));
      g.qp.A.row(i) *= s;
      g.qp.b[i] *= s;
    }
    const LinearLoss loss = random_loss(rng, g.qp.n(), g.qp.p(), g.qp.m());
    const auto check = [&](const auto& qp) {
      const Solution a = plain.forward(qp.view());
      const Solution b = normalizing.forward(qp.view());
      ASSERT_EQ(a.status, Status::Optimal);
      ASSERT_EQ(b.status, Status::Optimal);
      EXPECT_EQ(a.active, b.active);
      EXPECT_TRUE(near_relative(b.z, a.z, kForwardExact, 1.0));
      EXPECT_TRUE(near_relative(b.lam, a.lam, kForwardExact, 1.0));
      EXPECT_TRUE(near_relative(b.mu, a.mu, kForwardExact, 1.0));
      const auto ga = plain.backward(qp.view(), a, loss.wz, loss.wlam, loss.wmu);
      const auto gb = normalizing.backward(qp.view(), b, loss.wz, loss.wlam, loss.wmu);
      EXPECT_TRUE(near_relative(gb.P, ga.P, 1e-8));
      EXPECT_TRUE(near_relative(gb.q, ga.q, 1e-8));
      EXPECT_TRUE(near_relative(gb.C, ga.C, 1e-8));
      EXPECT_TRUE(near_relative(gb.d, ga.d, 1e-8));
      EXPECT_TRUE(near_relative(gb.A, ga.A, 1e-8));
      EXPECT_TRUE(near_relative(gb.b, ga.b, 1e-8));
    };
    check(g.qp);
    check(to_sparse(g.qp));
  }
}

// A loose point leaves every truly active row 1e-4 short of its bound, beyond
// eps_active: refinement must recover the active set (and polishing the exact
// solution). (Without refinement the polish's repair steps, which add the
// most violated row a few times, recover some of these sets, not all.)
TEST(Forward, RefineActiveRecoversMissedRows) {
  std::mt19937 rng(26);
  Settings refine;
  refine.refine_active = true;
  const Layer refining(refine, nullptr);
  for (int trial = 0; trial < 10; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const GeneratedQP g = random_qp(rng, {7, 1, 3, 6, 1.0});
    const Index k = static_cast<Index>(g.optimum.active.size());
    Eigen::MatrixXd rows(g.qp.p() + k, g.qp.n());
    rows.topRows(g.qp.p()) = g.qp.A;
    for (Index i = 0; i < k; ++i) rows.row(g.qp.p() + i) = g.qp.C.row(g.optimum.active[i]);
    Vector shortfall = Vector::Zero(rows.rows());
    shortfall.tail(k).setConstant(-1e-4);
    PrimalDual loose;
    loose.z = g.optimum.z + rows.completeOrthogonalDecomposition().solve(shortfall);
    loose.status = Status::Optimal;

    const Vector slack = g.qp.d - g.qp.C * loose.z;
    ASSERT_GT(slack.minCoeff(), Settings{}.eps_active) << "the loose point should defeat the plain threshold";
    const Solution s = refining.forward_from(g.qp.view(), loose);
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_EQ(s.active, g.optimum.active);
    EXPECT_TRUE(s.polished);
    EXPECT_TRUE(near_relative(s.z, g.optimum.z, kForwardExact, 1.0));
    EXPECT_TRUE(near_relative(s.mu, g.optimum.mu, kForwardExact, 1.0));
  }
}

// A warm start from the previous solution reaches the same point, also when
// the solver sees normalized rows (whose duals the layer must rescale).
TEST(Forward, WarmStartReachesSameSolution) {
  std::mt19937 rng(27);
  GeneratedQP g = random_qp(rng, {8, 2, 3, 7, 1.0});
  g.qp.C.row(1) *= 20.0;
  g.qp.d[1] *= 20.0;
  for (bool normalize : {false, true}) {
    SCOPED_TRACE("normalize " + std::to_string(normalize));
    Settings warm;
    warm.warm_start = true;
    warm.normalize_constraints = normalize;
    const Layer layer(warm);
    const Solution cold = layer.forward(g.qp.view());
    const Solution again = layer.forward(g.qp.view(), &cold);
    ASSERT_EQ(again.status, Status::Optimal);
    EXPECT_TRUE(near_relative(again.z, cold.z, kForwardExact, 1.0));
    EXPECT_TRUE(near_relative(again.mu, cold.mu, kForwardExact, 1.0));
    EXPECT_LE(again.iterations, cold.iterations) << "starting at the answer cannot cost more";
  }
}

// x <= -1 and x >= 1: no feasible point, no derivative.
DenseQP infeasible_problem() {
  DenseQP qp;
  qp.P = RowMatrix::Identity(2, 2);
  qp.q = Vector::Zero(2);
  qp.C.resize(2, 2);
  qp.C << 1, 0, -1, 0;
  qp.d = Vector::Constant(2, -1.0);
  qp.A = RowMatrix(0, 2);
  qp.b = Vector(0);
  return qp;
}

template <class QP>
void check_infeasible(const QP& qp) {
  const Layer layer;
  const Solution s = layer.forward(qp.view());
  EXPECT_NE(s.status, Status::Optimal);
  EXPECT_EQ(s.status, Status::PrimalInfeasible) << to_string(s.status);
  EXPECT_FALSE(s.differentiable());
  const Vector dz = Vector::Ones(2);
  const std::string what =
      invalid_argument_message([&] { layer.backward(qp.view(), s, dz, Vector(), Vector()); });
  EXPECT_NE(what.find(to_string(s.status)), std::string::npos) << what;
}

TEST(Forward, InfeasibleDense) { check_infeasible(infeasible_problem()); }
TEST(Forward, InfeasibleSparse) { check_infeasible(to_sparse(infeasible_problem())); }

// An iteration limit too small to converge is a failed solve, not an optimum.
TEST(Forward, IterationLimitIsNotOptimal) {
  std::mt19937 rng(28);
  Settings settings;
  settings.max_iter = 1;
  settings.eps_abs = 1e-12;
  const GeneratedQP g = random_qp(rng, {12, 3, 5, 10, 1.0});
  const Layer layer(settings);
  const Solution s = layer.forward(g.qp.view());
  EXPECT_EQ(s.status, Status::MaxIterations) << to_string(s.status);
  EXPECT_FALSE(s.differentiable());
  EXPECT_THROW(layer.backward(g.qp.view(), s, Vector::Ones(12), Vector(), Vector()),
               std::invalid_argument);
}

// Forward and backward with one layer, compared with a reference layer. The
// run is first tried in a child process: a linear solver that crashes fails
// this test only.
template <class QP>
void expect_same_as_reference(const Layer& layer, const Layer& reference, const QP& qp,
                              const LinearLoss& loss) {
  const auto run = [&] {
    const Solution s = layer.forward(qp.view());
    if (s.differentiable()) layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  };
  ASSERT_TRUE(runs_without_crashing(run));
  const Solution expected = reference.forward(qp.view());
  const auto eg = reference.backward(qp.view(), expected, loss.wz, loss.wlam, loss.wmu);
  const Solution s = layer.forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_EQ(s.active, expected.active);
  EXPECT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
  EXPECT_TRUE(near_relative(s.z, expected.z, kForwardExact, 1.0));
  EXPECT_TRUE(near_relative(s.lam, expected.lam, kForwardExact, 1.0));
  EXPECT_TRUE(near_relative(s.mu, expected.mu, kForwardExact, 1.0));
  const auto g = layer.backward(qp.view(), s, loss.wz, loss.wlam, loss.wmu);
  EXPECT_TRUE(near_relative(g.P, eg.P, 1e-9));
  EXPECT_TRUE(near_relative(g.q, eg.q, 1e-9));
  EXPECT_TRUE(near_relative(g.C, eg.C, 1e-9));
  EXPECT_TRUE(near_relative(g.d, eg.d, 1e-9));
  EXPECT_TRUE(near_relative(g.A, eg.A, 1e-9));
  EXPECT_TRUE(near_relative(g.b, eg.b, 1e-9));
}

// Every linear solver for the reduced KKT system (and every alias) gives the
// same outputs and gradients as "auto" on the storage it takes, on a small and
// a larger problem (larger fronts reach the libraries' BLAS-3 kernels).
TEST(Forward, EveryLinearSolverGivesSameGradients) {
  std::mt19937 rng(29);
  std::vector<std::string> names{"scipy LU", "scipy LDL", "scipy SPLU", "qdldl"};
  for (const LinearSolverInfo& info : linear_solvers()) names.push_back(info.name);
  ASSERT_GE(names.size(), 9u);
  const Layer automatic;
  for (const QPShape shape : {QPShape{9, 2, 4, 8, 0.5}, QPShape{80, 10, 30, 50, 0.1}}) {
    const GeneratedQP g = random_qp(rng, shape);
    const SparseQP sparse = to_sparse(g.qp);
    const LinearLoss loss = random_loss(rng, g.qp.n(), g.qp.p(), g.qp.m());
    for (const std::string& name : names) {
      SCOPED_TRACE(name + ", n = " + std::to_string(shape.n));
      Settings settings;
      settings.lin_solver = name;
      const Layer layer(settings);
      const std::string resolved = resolve_linear_solver_name(name);
      bool dense = false, sparse_kind = false;
      for (const LinearSolverInfo& info : linear_solvers())
        if (info.name == resolved) dense = info.dense, sparse_kind = info.sparse;
      ASSERT_TRUE(dense || sparse_kind) << "resolves to " << resolved;
      if (dense) expect_same_as_reference(layer, automatic, g.qp, loss);
      if (sparse_kind) expect_same_as_reference(layer, automatic, sparse, loss);
    }
  }
}

// Every native forward solver reaches the same point and derivative as the
// default one, on each storage it takes.
TEST(Forward, EveryQPSolverGivesSameGradients) {
  std::mt19937 rng(31);
  const GeneratedQP g = random_qp(rng, {10, 2, 4, 8, 0.5});
  const SparseQP sparse = to_sparse(g.qp);
  const LinearLoss loss = random_loss(rng, 10, 2, 8);
  const Layer reference;
  ASSERT_FALSE(qp_solvers().empty());
  for (const SolverInfo& info : qp_solvers()) {
    SCOPED_TRACE(info.name);
    Settings settings;
    settings.qp_solver = info.name;
    const Layer layer(settings);
    if (info.dense) expect_same_as_reference(layer, reference, g.qp, loss);
    if (info.sparse) expect_same_as_reference(layer, reference, sparse, loss);
  }
}

// Choosing a least-squares linear solver is a user preference, not a property
// of the problem: a regular problem must not be reported degenerate
// (kSingularKKT documents "the reduced KKT matrix is (numerically) singular").
TEST(Forward, LeastSquaresSolverDoesNotFlagRegularProblem) {
  for (const LinearSolverInfo& info : linear_solvers()) {
    if (!info.least_squares) continue;
    SCOPED_TRACE(info.name);
    Settings settings;
    settings.lin_solver = info.name;
    const Layer layer(settings);
    const DenseQP dense = seed_problem();
    const SparseQP sparse = to_sparse(dense);
    const auto solve = [&] {
      return info.dense ? layer.forward(dense.view()) : layer.forward(sparse.view());
    };
    ASSERT_TRUE(runs_without_crashing(solve));
    const Solution s = solve();
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_EQ(s.degeneracy, kNotDegenerate) << describe_degeneracy(s.degeneracy);
  }
}

// problem.hpp allows a constraint matrix with no rows to come as (0, 0); the
// answer must be that of the (0, n) form.
template <class QP>
void check_zero_by_zero(QP qp, const Optimum& optimum) {
  const Solution s = Layer().forward(qp.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_TRUE(near_relative(s.z, optimum.z, kForwardExact, 1.0));
  EXPECT_TRUE(near_relative(s.lam, optimum.lam, kForwardExact, 1.0));
  EXPECT_TRUE(near_relative(s.mu, optimum.mu, kForwardExact, 1.0));
}

TEST(Forward, EmptyConstraintsAsZeroByZero) {
  std::mt19937 rng(30);
  GeneratedQP equalities = random_qp(rng, {5, 2, 0, 0, 1.0});
  equalities.qp.C = RowMatrix(0, 0);
  check_zero_by_zero(equalities.qp, equalities.optimum);
  SparseQP sparse = to_sparse(equalities.qp);
  sparse.C = SparseMatrix(0, 0);
  check_zero_by_zero(sparse, equalities.optimum);

  GeneratedQP inequalities = random_qp(rng, {5, 0, 2, 4, 1.0});
  inequalities.qp.A = RowMatrix(0, 0);
  check_zero_by_zero(inequalities.qp, inequalities.optimum);
  sparse = to_sparse(inequalities.qp);
  sparse.A = SparseMatrix(0, 0);
  check_zero_by_zero(sparse, inequalities.optimum);
}

}  // namespace
}  // namespace dqp::test
