// The solver chain: fallbacks rescue a failed solve, the first solver's status
// is kept when none succeeds, and "auto" picks by storage.
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "test_helpers.hpp"

namespace dqp::test {
namespace {

// A solver that always gives up: what a fallback must rescue.
class GivesUp final : public QPSolver {
 public:
  explicit GivesUp(Status status) : status_(status) {}
  SolverInfo info() const override { return {"gives_up", true, true, true, false}; }
  PrimalDual solve(const DenseProblem& qp, const Settings&, const PrimalDual*) const override {
    return answer(qp.n(), qp.p(), qp.m());
  }
  PrimalDual solve(const SparseProblem& qp, const Settings&, const PrimalDual*) const override {
    return answer(qp.n(), qp.p(), qp.m());
  }

 private:
  PrimalDual answer(Index n, Index p, Index m) const {
    PrimalDual out;
    out.z = Vector::Zero(n);
    out.lam = Vector::Zero(p);
    out.mu = Vector::Zero(m);
    out.status = status_;
    out.iterations = 7;
    return out;
  }
  Status status_;
};

TEST(SolverChain, FallbackRescuesAFailedSolveAndSaysWhoAnswered) {
  std::mt19937 rng(41);
  const GeneratedQP g = random_qp(rng, {8, 2, 3, 6, 1.0});
  const auto chain = std::shared_ptr<const QPSolver>(make_solver_chain(
      "test", {std::make_shared<GivesUp>(Status::PrimalInfeasible), make_qp_solver("proxqp")}));
  const Layer layer(Settings{}, chain);
  for (const bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    const SparseQP sparse_qp = to_sparse(g.qp);
    const Solution s = sparse ? layer.forward(sparse_qp.view()) : layer.forward(g.qp.view());
    ASSERT_EQ(s.status, Status::Optimal);
    EXPECT_EQ(s.solver, "proxqp");
    EXPECT_GE(s.iterations, 7);  // the failed attempt's iterations are counted
    EXPECT_LT(relative_error(s.z, g.optimum.z), 1e-8);
    EXPECT_LT(relative_error(s.mu, g.optimum.mu), 1e-8);
  }
}

// A solver that calls a perturbed point optimal: the optimum plus `error` in
// z and in the duals, so its KKT residual is about `error`.
class ClaimsOptimal final : public QPSolver {
 public:
  ClaimsOptimal(Optimum optimum, double error, std::string name)
      : optimum_(std::move(optimum)), error_(error), name_(std::move(name)) {}
  SolverInfo info() const override { return {name_, true, true, true, false}; }
  PrimalDual solve(const DenseProblem&, const Settings&, const PrimalDual*) const override {
    return answer();
  }
  PrimalDual solve(const SparseProblem&, const Settings&, const PrimalDual*) const override {
    return answer();
  }

 private:
  PrimalDual answer() const {
    PrimalDual out;
    out.z = optimum_.z.array() + error_;
    out.lam = optimum_.lam.array() + error_;
    out.mu = optimum_.mu;
    out.has_duals = true;
    out.status = Status::Optimal;
    out.solver = name_;
    return out;
  }
  Optimum optimum_;
  double error_;
  std::string name_;
};

// An "optimal" answer far from the KKT conditions (a relative residual of
// 1000 x eps_abs and more) goes to the next solver; of several such answers
// the one with the smallest residual is kept.
TEST(SolverChain, AnOptimalAnswerWithAPoorResidualGoesToTheNextSolver) {
  std::mt19937 rng(44);
  const GeneratedQP g = random_qp(rng, {8, 2, 3, 6, 1.0});
  Settings settings;
  settings.polish = false;  // judge the solvers' own points
  auto run = [&](std::vector<std::shared_ptr<const QPSolver>> solvers) {
    const auto chain = std::shared_ptr<const QPSolver>(make_solver_chain("test", solvers));
    return Layer(settings, chain).forward(g.qp.view());
  };
  auto poor = std::make_shared<ClaimsOptimal>(g.optimum, 5e-2, "poor");
  auto poorer = std::make_shared<ClaimsOptimal>(g.optimum, 3e-1, "poorer");
  auto good = std::make_shared<ClaimsOptimal>(g.optimum, 1e-9, "good");
  EXPECT_EQ(run({poor, make_qp_solver("proxqp")}).solver, "proxqp");
  EXPECT_EQ(run({good, poor}).solver, "good");
  EXPECT_EQ(run({poorer, poor}).solver, "poor");
  EXPECT_EQ(run({poor, poorer}).solver, "poor");
  EXPECT_EQ(run({std::make_shared<GivesUp>(Status::MaxIterations), poorer}).solver, "poorer");
  // One solver alone is never second-guessed.
  EXPECT_EQ(run({poorer}).solver, "poorer");
}

TEST(SolverChain, KeepsTheFirstSolversStatusWhenNoneSucceeds) {
  std::mt19937 rng(42);
  const GeneratedQP g = random_qp(rng, {4, 0, 1, 2, 1.0});
  const auto chain = std::shared_ptr<const QPSolver>(make_solver_chain(
      "test", {std::make_shared<GivesUp>(Status::MaxIterations),
               std::make_shared<GivesUp>(Status::NumericalError)}));
  const Solution s = Layer(Settings{}, chain).forward(g.qp.view());
  EXPECT_EQ(s.status, Status::MaxIterations);
  EXPECT_EQ(s.solver, "gives_up");
  EXPECT_FALSE(s.differentiable());
}

TEST(SolverChain, SkipsSolversThatDoNotTakeTheStorage) {
  std::mt19937 rng(43);
  const GeneratedQP g = random_qp(rng, {6, 1, 2, 4, 1.0});
  Settings settings;
  settings.qp_solver = "proxqp";
  for (const SolverInfo& info : qp_solvers())
    if (info.dense && !info.sparse) settings.fallback_solvers.push_back(info.name);
  const Layer layer(settings);
  const SparseQP sparse = to_sparse(g.qp);
  const Solution s = layer.forward(sparse.view());
  ASSERT_EQ(s.status, Status::Optimal);
  EXPECT_EQ(s.solver, "proxqp");
}

TEST(SolverChain, UnknownFallbackNameIsRejected) {
  Settings settings;
  settings.fallback_solvers = {"no_such_solver"};
  EXPECT_THROW(Layer{settings}, std::invalid_argument);
}

TEST(SolverChain, AutoPicksBySizeAndStorage) {
  std::mt19937 rng(44);
  const bool piqp = has_qp_solver("piqp");
  const Layer layer;  // qp_solver = "auto"
  EXPECT_EQ(layer.settings().qp_solver, "auto");
  for (const Index n : {10, 120}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const GeneratedQP g = random_qp(rng, {n, 2, 4, 8, 0.5});
    const Solution dense = layer.forward(g.qp.view());
    const SparseQP sparse_qp = to_sparse(g.qp);
    const Solution sparse = layer.forward(sparse_qp.view());
    ASSERT_EQ(dense.status, Status::Optimal);
    ASSERT_EQ(sparse.status, Status::Optimal);
    // DAQP (else ProxQP) for small dense problems, PIQP for large dense and
    // all sparse ones.
    const std::string small_dense = has_qp_solver("daqp") ? "daqp" : "proxqp";
    EXPECT_EQ(dense.solver, piqp && n >= 100 ? "piqp" : n >= 100 ? "proxqp" : small_dense);
    EXPECT_EQ(sparse.solver, piqp ? "piqp" : "proxqp");
    EXPECT_LT(relative_error(dense.z, g.optimum.z), 1e-8);
    EXPECT_LT(relative_error(sparse.z, g.optimum.z), 1e-8);
  }
}

}  // namespace
}  // namespace dqp::test
