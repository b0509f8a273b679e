// Scalar, vector and matrix types shared by every part of dqp.
#pragma once

#include <cstdint>

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

using VectorView = Eigen::Ref<const Vector>;
using DenseView = Eigen::Ref<const RowMatrix>;
using SparseView = Eigen::Map<const SparseMatrix>;

}  // namespace dqp
