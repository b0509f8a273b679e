// Scalar, vector and matrix types shared by every part of dqp, and the views
// through which a problem refers to the caller's data.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <type_traits>

#include <Eigen/Core>
#include <Eigen/SparseCore>

namespace dqp {

using Index = std::int64_t;
using Vector = Eigen::VectorXd;
using IndexVector = Eigen::Matrix<Index, Eigen::Dynamic, 1>;

// Row-major because numpy arrays and torch tensors are: a C-contiguous buffer
// maps without a copy.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Compressed sparse columns with 64-bit indices, the layout torch and scipy
// hand over for CSC data.
using SparseMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, Index>;

// A vector argument of a function call (an incoming gradient, for example).
// Unlike the views below it may hold a converted copy (a float vector, an
// expression), which lives exactly as long as the call.
using VectorRef = Eigen::Ref<const Vector>;

// The views below are what a problem (problem.hpp) holds. They never copy:
// what they cannot view in place (column-major or float data, an expression,
// a temporary matrix) does not compile, because a hidden copy would die with
// the expression while the problem still pointed at it. Copy the data into a
// dqp::DenseQP or dqp::SparseQP (owned_problem.hpp) instead, or into a
// RowMatrix / Vector / SparseMatrix that you keep alive.
//
// Assigning a view rebinds it (like std::span), so problems can be assigned
// and stored in containers.

// Row-major double data whose rows are contiguous (any row stride): a
// RowMatrix, a block of one, an Eigen::Map or Eigen::Ref of one.
class DenseView : public Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> {
 public:
  using Base = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;

  DenseView() : Base(nullptr, 0, 0, Eigen::OuterStride<>(0)) {}
  DenseView(const double* data, Index rows, Index cols, Index row_stride)
      : Base(data, rows, cols, Eigen::OuterStride<>(row_stride)) {}
  DenseView(const DenseView& other) = default;

  template <class Derived>
  DenseView(const Eigen::DenseBase<Derived>& matrix)  // NOLINT: implicit by design
      : Base(matrix.derived().data(), matrix.rows(), matrix.cols(),
             Eigen::OuterStride<>(matrix.rows() > 0 ? matrix.derived().outerStride()
                                                    : matrix.cols())) {
    static_assert(std::is_same<typename Derived::Scalar, double>::value,
                  "dqp::DenseView views double data only: copy other scalar types into a "
                  "dqp::DenseQP or a dqp::RowMatrix you keep alive");
    static_assert(int(Derived::Flags) & Eigen::DirectAccessBit,
                  "dqp::DenseView views stored data only, not an expression: evaluate it into a "
                  "dqp::DenseQP or a dqp::RowMatrix you keep alive");
    static_assert(Derived::IsRowMajor,
                  "dqp::DenseView views row-major data only (dqp::RowMatrix); a column-major "
                  "matrix (Eigen::MatrixXd) would need a hidden copy: use dqp::DenseQP, which "
                  "owns its data, or a dqp::RowMatrix you keep alive");
    static_assert(Derived::InnerStrideAtCompileTime == 1,
                  "dqp::DenseView views data with contiguous rows only");
  }
  // A temporary matrix would die before the view: refused.
  template <class Derived>
  DenseView(Eigen::PlainObjectBase<Derived>&& temporary) = delete;

  DenseView& operator=(const DenseView& other) {
    if (this != &other) new (this) DenseView(other);  // rebinds; a Map owns nothing
    return *this;
  }
};

// A contiguous double vector: a Vector, a segment of one, a row of a
// RowMatrix, an Eigen::Map or Eigen::Ref of one.
class VectorView : public Eigen::Map<const Vector> {
 public:
  using Base = Eigen::Map<const Vector>;

  VectorView() : Base(nullptr, 0) {}
  VectorView(const double* data, Index size) : Base(data, size) {}
  VectorView(const VectorView& other) = default;

  template <class Derived>
  VectorView(const Eigen::DenseBase<Derived>& vector)  // NOLINT: implicit by design
      : Base(vector.derived().data(), vector.size()) {
    static_assert(std::is_same<typename Derived::Scalar, double>::value,
                  "dqp::VectorView views double data only: copy other scalar types into a "
                  "dqp::DenseQP or a dqp::Vector you keep alive");
    static_assert(int(Derived::Flags) & Eigen::DirectAccessBit,
                  "dqp::VectorView views stored data only, not an expression: evaluate it into "
                  "a dqp::Vector you keep alive");
    static_assert(Derived::IsVectorAtCompileTime,
                  "dqp::VectorView views vectors only (one row or one column at compile time)");
    static_assert(Derived::InnerStrideAtCompileTime == 1,
                  "dqp::VectorView views contiguous data only");
  }
  template <class Derived>
  VectorView(Eigen::PlainObjectBase<Derived>&& temporary) = delete;

  VectorView& operator=(const VectorView& other) {
    if (this != &other) new (this) VectorView(other);
    return *this;
  }
};

// Compressed sparse columns with 64-bit indices. Built from a compressed
// dqp::SparseMatrix, or from the raw CSC arrays. Other sparse types (32-bit
// indices, row-major, float) would need a hidden copy: they do not compile;
// dqp::SparseQP converts them into storage it owns.
class SparseView : public Eigen::Map<const SparseMatrix> {
 public:
  using Base = Eigen::Map<const SparseMatrix>;

  SparseView() : Base(0, 0, 0, kNoColumns, kNoColumns, static_cast<const double*>(nullptr)) {}
  // indptr has cols + 1 entries; indices and values have nnz.
  SparseView(Index rows, Index cols, Index nnz, const Index* indptr, const Index* indices,
             const double* values)
      : Base(rows, cols, nnz, indptr, indices, values) {}
  SparseView(const Base& map) : Base(map) {}  // NOLINT: implicit by design
  SparseView(const SparseView& other) = default;
  // Throws std::invalid_argument when `matrix` is not compressed
  // (makeCompressed() it first).
  SparseView(const SparseMatrix& matrix)  // NOLINT: implicit by design
      : SparseView(of(matrix)) {}
  SparseView(SparseMatrix&& temporary) = delete;

  template <class Derived>
  SparseView(const Eigen::SparseMatrixBase<Derived>&)
      : Base(0, 0, 0, kNoColumns, kNoColumns, static_cast<const double*>(nullptr)) {
    static_assert(sizeof(Derived) == 0,
                  "dqp::SparseView views a compressed dqp::SparseMatrix (double, column-major, "
                  "64-bit indices) only: other index types, row-major storage or expressions "
                  "would need a hidden copy; use dqp::SparseQP, which converts and owns them");
  }

  // The view of a compressed matrix; throws std::invalid_argument otherwise.
  static SparseView of(const SparseMatrix& matrix) {
    if (!matrix.isCompressed())
      throw std::invalid_argument(
          "dqp::SparseView needs a compressed matrix: call makeCompressed() first");
    return SparseView(matrix.rows(), matrix.cols(), matrix.nonZeros(), matrix.outerIndexPtr(),
                      matrix.innerIndexPtr(), matrix.valuePtr());
  }
  static SparseView of(SparseMatrix&& temporary) = delete;

  SparseView& operator=(const SparseView& other) {
    if (this != &other) new (this) SparseView(other);
    return *this;
  }

 private:
  // Column pointers of the 0 x 0 matrix.
  static constexpr Index kNoColumns[1] = {0};
};

}  // namespace dqp
