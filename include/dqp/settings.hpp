// Every option of the layer, with its default, validated in one place.
#pragma once

#include <string>
#include <vector>

namespace dqp {

struct Settings {
  // Forward solver, by registry name (see qp_solver.hpp). "auto" is a chain:
  // dense problems with n < 100 try DAQP, then ProxQP, then PIQP; larger
  // dense ones PIQP, then ProxQP; sparse ones PIQP, then HiGHS, then ProxQP
  // (each solver when built in). Solution::solver says which one answered.
  std::string qp_solver = "auto";
  // Native solvers tried in order when qp_solver does not reach an optimal
  // point (infeasibility false alarm, iteration or time limit, ...).
  std::vector<std::string> fallback_solvers;
  // Linear solver for the reduced KKT system, by registry name (see
  // kkt_solver.hpp); "auto" picks by the problem's storage. When the chosen
  // solver cannot factor the system (a singular or indefinite K it does not
  // take), more robust ones take over: pivoted LU, then least squares
  // (Solution::linear_solver() says which one factored it)...
  std::string lin_solver = "auto";
  // ... unless this is on: then only lin_solver is used, and forward throws
  // std::runtime_error naming it when it fails.
  bool strict_linear_solver = false;

  // The storage dense problems are solved in (storage.hpp). "auto": with
  // qp_solver and lin_solver "auto" and no fallback solvers, a dense problem
  // that is large and mostly zeros (sparse_pays_off) is solved and
  // differentiated on the sparse path; "input": every problem in the storage
  // it is given; "sparse": dense problems always on the sparse path (the
  // solvers must take sparse data). Outputs and gradients are those of the
  // storage given either way; Solution::storage says which path ran.
  // Sparse problems always stay sparse.
  std::string storage = "auto";

  double eps_abs = 1e-6;     // solver's absolute tolerance
  double eps_rel = 0.0;      // solver's relative tolerance
  int max_iter = 10000;      // solver's iteration limit
  // Wall-time limit of one forward solve in seconds (0: none), for solvers
  // that take one; a solver that stops on it reports MaxIterations.
  double time_limit = 0.0;

  // A row i of C is active when d_i - C_i z < eps_active (a distance when
  // normalize_constraints is on).
  double eps_active = 1e-5;

  // Use the solver's duals. When false (or when the solver returns none) the
  // duals are recovered from the reduced KKT system.
  bool dual_available = true;

  // Scale every row of [C d] and [A b] to unit norm before solving; duals are
  // rescaled back, so every output is that of the original problem.
  bool normalize_constraints = false;
  // Rows whose norm is below this are left unscaled.
  double normalize_floor = 1e-7;

  // Grow the active set by near-active rows while the KKT residual falls.
  bool refine_active = false;

  // Re-solve the reduced KKT system and take its (z, duals) when that point
  // satisfies the full KKT conditions: exact outputs from a loose solver.
  bool polish = true;

  // An active row whose dual is below this is weakly active (degenerate).
  double weak_dual_tol = 1e-8;

  // P must satisfy ||P - P^T||_F <= symmetry_tol * max(1, ||P||_F).
  double symmetry_tol = 1e-8;
  // Check that P is positive semidefinite (costly: one factorization).
  bool check_psd = false;
  // Reject NaN and Inf in the data, and entries beyond ±max_abs_value: their
  // squares overflow, and solvers crawl on them (the fuzzer found a 2-variable
  // problem with d = -6e174 that ran for minutes).
  bool check_finite = true;
  double max_abs_value = 1e100;

  bool warm_start = false;   // start the solver from a previous solution
  bool verbose = false;      // let the solver print

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

}  // namespace dqp
