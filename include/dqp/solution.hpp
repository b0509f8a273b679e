// What a forward pass returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dqp/status.hpp"
#include "dqp/storage.hpp"
#include "dqp/timings.hpp"
#include "dqp/types.hpp"

namespace dqp {

class ReducedKKT;

// Why the derivative at a solution is not unique. A degenerate solution still
// gets a finite derivative: the minimum-norm least-squares
// solution of the reduced KKT system.
enum Degeneracy : unsigned {
  kNotDegenerate = 0,
  kTooManyActive = 1u << 0,   // p + |active| > n
  kSingularKKT = 1u << 1,     // the reduced KKT matrix is (numerically) singular
  kWeaklyActive = 1u << 2,    // an active row has a (near) zero dual
};

std::string describe_degeneracy(unsigned flags);

struct Solution {
  Status status = Status::NotSolved;
  Vector z;     // primal solution (n)
  Vector lam;   // equality duals (p)
  Vector mu;    // inequality duals (m), exactly zero outside the active set
  std::vector<Index> active;   // active rows of C, ascending
  unsigned degeneracy = kNotDegenerate;
  bool polished = false;         // z and duals come from the reduced KKT solve
  bool duals_recovered = false;  // duals were computed by dqp, not the solver
  int iterations = 0;            // solver iterations
  // The forward solver that answered, by registry name ("daqp", "proxqp",
  // ...): with qp_solver = "auto" or fallback solvers, the one in the chain
  // whose point was taken.
  std::string solver;
  double kkt_residual = 0.0;     // infinity norm of the KKT conditions' residual
  // The path that solved and factored the problem: Sparse for sparse data,
  // and for dense data that Settings::storage sent to the sparse path.
  Storage storage = Storage::Dense;
  Timings timings;

  // Factorization of the reduced KKT system, kept for the backward pass.
  // Solutions share it (copies are cheap) and it is never modified: a
  // solution may be differentiated from several threads at once.
  std::shared_ptr<const ReducedKKT> kkt;
  // fingerprint() of the problem given to forward (0: unknown); backward
  // refuses a problem whose fingerprint differs.
  std::uint64_t problem_fingerprint = 0;

  bool differentiable() const { return kkt != nullptr; }
  // The linear solver that factored the reduced KKT system, by registry name
  // (kkt_solver.hpp): the requested one, or the fallback that took over when
  // it failed (see Settings::strict_linear_solver); empty when there is no
  // factorization (the solve failed).
  std::string linear_solver() const;
  bool degenerate() const { return degeneracy != kNotDegenerate; }
};

}  // namespace dqp
