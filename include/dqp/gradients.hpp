// Gradients of a loss with respect to the QP's data (vector-Jacobian products).
#pragma once

#include "dqp/types.hpp"

namespace dqp {

// Which of the six gradients backward computes. The others come back empty
// (size 0): a layer whose P, C and A are constants (a projection, an MPC
// policy whose dynamics are fixed) skips the n x n and m x n products and
// their memory, which dominate the backward of a large dense problem.
struct GradientSelection {
  bool P = true, q = true, C = true, d = true, A = true, b = true;

  static GradientSelection all() { return {}; }
  static GradientSelection vectors_only() { return {false, true, false, true, false, true}; }
};

struct DenseGradients {
  RowMatrix P, C, A;
  Vector q, d, b;
};

// P, C and A hold one value per stored entry of the input, in the input's own
// CSC order: the gradient has exactly the input's sparsity pattern.
struct SparseGradients {
  Vector P, C, A;
  Vector q, d, b;
};

}  // namespace dqp
