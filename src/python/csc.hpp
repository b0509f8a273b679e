// Sparse matrices cross the binding as (rows, cols, indptr, indices, data)
// CSC tuples, mapped without copies after a structural check.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/tuple.h>

#include <tuple>

#include "dqp/types.hpp"

namespace dqp::python {

using IndexArray = nanobind::ndarray<const Index, nanobind::ndim<1>, nanobind::c_contig,
                                     nanobind::device::cpu>;
using ValueArray = nanobind::ndarray<const double, nanobind::ndim<1>, nanobind::c_contig,
                                     nanobind::device::cpu>;
using CSC = std::tuple<Index, Index, IndexArray, IndexArray, ValueArray>;

// Throws std::invalid_argument naming `name` when the arrays' lengths
// disagree or the structure is broken (dqp::validate_structure).
SparseView view_csc(const CSC& csc, const char* name);

}  // namespace dqp::python
