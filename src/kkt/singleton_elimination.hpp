// Eliminating the active bounds from the reduced KKT system before factoring.
//
// An active constraint row with one entry (a bound, c z_j = d_i) fixes z_j.
// In K = [[P, Ãᵀ], [Ã, 0]] its row i has the single entry K_ij, so the pair
// (i, j) drops out: x_j = r_i / K_ij; the rest S solves K_SS x_S = r_S - K_SJ x_J
// (K_SS is again a KKT matrix, of the free variables and the other rows);
// and x_i = (r_j - K_j,· x) / K_ij from row j. A projection onto the simplex
// with 995 of 1000 bounds active factors a 6 x 6 system instead of 1996 x 1996.
//
// Only when the elimination is exact and regular: every fixed column has one
// bound, no other active row lies entirely in fixed columns (that row would
// make K_SS singular: the caller then factors the whole K, whose least-squares
// fallback sees the degeneracy), and a regular (non least-squares) solver
// factors K_SS.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dqp/kkt_solver.hpp"

namespace dqp::kkt {

struct EliminatedFactorization {
  std::unique_ptr<KKTFactorization> factorization;  // of the whole K
  std::string solver;                                // the solver that factored K_SS
};

// K's leading n x n block is P. `solvers` are tried in order on K_SS (least-
// squares ones are skipped). Empty result when no bound can be eliminated or
// the conditions above fail.
EliminatedFactorization factor_with_bounds_eliminated(const KKTDense& K, Index n,
                                                      const std::vector<std::string>& solvers);
EliminatedFactorization factor_with_bounds_eliminated(const KKTSparse& K, Index n,
                                                      const std::vector<std::string>& solvers);

}  // namespace dqp::kkt
