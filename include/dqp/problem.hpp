// Views of a QP's data: no copies of the caller's arrays.
//
//   minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d,   A z = b.
//
// C and A may have zero rows. Dense matrices are row-major (numpy's layout);
// sparse ones are compressed columns with 64-bit indices (CSC), and P must
// store both triangles.
#pragma once

#include "dqp/types.hpp"

namespace dqp {

template <class MatrixView>
struct QPView {
  MatrixView P;
  VectorView q;
  MatrixView C;
  VectorView d;
  MatrixView A;
  VectorView b;

  Index n() const { return q.size(); }
  Index m() const { return d.size(); }
  Index p() const { return b.size(); }
};

using DenseProblem = QPView<DenseView>;
using SparseProblem = QPView<SparseView>;

// Throws std::invalid_argument naming the offending argument when shapes
// disagree, data are not finite, P is not symmetric, or (with check_psd) P is
// not positive semidefinite.
struct Settings;
void validate(const DenseProblem& problem, const Settings& settings);
void validate(const SparseProblem& problem, const Settings& settings);

}  // namespace dqp
