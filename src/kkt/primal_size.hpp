// The size n of the P block of K = [[P, Ãᵀ], [Ã, 0]], recovered from K for
// callers of factorize() that do not pass it: K[n:, n:] is empty, and for
// the smallest such n every variable row has an entry, unless K has a zero
// row (and is singular, which the solvers then report).
#pragma once

#include <algorithm>

#include "dqp/kkt_solver.hpp"

namespace dqp::kkt {

inline Index primal_size(const KKTDense& K) {
  Index n = 0;
  for (Index j = 0; j < K.cols(); ++j)
    for (Index i = 0; i < K.rows(); ++i)
      if (K(i, j) != 0.0) n = std::max(n, std::min(i, j) + 1);
  return n;
}

inline Index primal_size(const KKTSparse& K) {
  Index n = 0;
  for (Index j = 0; j < K.outerSize(); ++j)
    for (KKTSparse::InnerIterator it(K, j); it; ++it)
      if (it.value() != 0.0) n = std::max<Index>(n, std::min<Index>(it.row(), j) + 1);
  return n;
}

}  // namespace dqp::kkt
