// The storage a problem is solved in, and the rule by which "auto" solves
// dense data on the sparse path.
//
// Dense data that are mostly zeros solve much faster as sparse matrices
// (the MPC problem QUADCMPC3, n = 384, 0.5 % non-zeros: 65 ms dense, 5 ms
// sparse, forward + backward). Whatever path runs, the outputs and the
// gradients are those of the storage given: dense data get dense gradients
// (the full outer products, not only the pattern's entries).
#pragma once

#include "dqp/owned_problem.hpp"
#include "dqp/problem.hpp"

namespace dqp {

enum class Storage { Dense, Sparse };

const char* to_string(Storage storage);  // "dense" or "sparse"

// The rule of Settings::storage = "auto" (measured with bench/storage.py):
// at least kSparseFromVariables variables, and at most
// kSparseMaxNonzerosPerRow non-zeros per row of the stacked [P; C; A] on
// average. Random sparse problems (the worst case: no structure, so the
// factorizations fill in) run 1.1-79x faster on the sparse path below it,
// break even at about 5 per row and lose above, at n = 100 ... 800
// (bench/results/storage.md); structured ones (MPC,
// banded, simplex constraints) gain more. Below 100 variables the dense
// solvers win whatever the density (DAQP on a dense n = 50 problem: 0.4 ms
// against 1.5-5 ms sparse).
constexpr Index kSparseFromVariables = 100;
constexpr double kSparseMaxNonzerosPerRow = 3.0;

// Does the rule send this dense problem to the sparse path? Counts the
// non-zeros of P, C and A, stopping as soon as the budget is passed: at most
// one read of the data, nothing for problems below kSparseFromVariables.
bool sparse_pays_off(const DenseProblem& problem);

// The problem's non-zeros as compressed sparse columns (exact zeros are
// dropped; a (0, 0) C or A becomes (0, n)).
SparseQP to_sparse(const DenseProblem& problem);

}  // namespace dqp
