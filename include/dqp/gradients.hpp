// Gradients of a loss with respect to the QP's data (vector-Jacobian products).
#pragma once

#include "dqp/types.hpp"

namespace dqp {

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
