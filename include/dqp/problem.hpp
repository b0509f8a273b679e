// Views of a QP's data: no copies of the caller's arrays.
//
//   minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d,   A z = b.
//
// C and A may have zero rows. Dense matrices are row-major (numpy's layout);
// sparse ones are compressed columns with 64-bit indices (CSC), and P must
// store both triangles. The views (types.hpp) refuse at compile time what
// they cannot view without a copy; a problem that owns its data is a
// dqp::DenseQP or dqp::SparseQP (owned_problem.hpp).
#pragma once

#include <cstdint>

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

// Throws std::invalid_argument naming the offending argument when the CSC
// structure of a sparse matrix is broken (column pointers not starting at 0,
// decreasing or not ending at nnz; a row index out of range; row indices not
// strictly increasing within a column), shapes disagree, data are not
// finite, P is not symmetric, or (with check_psd) P is not positive
// semidefinite. Layer::forward runs it on every problem.
struct Settings;
void validate(const DenseProblem& problem, const Settings& settings);
void validate(const SparseProblem& problem, const Settings& settings);

// The CSC structure check alone; `name` is the argument named in the message.
void validate_structure(const SparseView& matrix, const char* name);

// A cheap fingerprint of a problem (its sizes and a fixed sample of its
// entries and sparsity pattern): Layer::backward compares it with the one
// taken by forward, to refuse a solution that belongs to another problem.
std::uint64_t fingerprint(const DenseProblem& problem);
std::uint64_t fingerprint(const SparseProblem& problem);

}  // namespace dqp
