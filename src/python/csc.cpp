#include "csc.hpp"

#include "dqp/problem.hpp"

#include <stdexcept>
#include <string>

namespace dqp::python {

SparseView view_csc(const CSC& csc, const char* name) {
  const auto& [rows, cols, indptr, indices, data] = csc;
  auto fail = [name](const std::string& what) {
    throw std::invalid_argument(std::string(name) + " (CSC): " + what);
  };
  if (rows < 0 || cols < 0) fail("negative shape");
  if (static_cast<Index>(indptr.shape(0)) != cols + 1)
    fail("indptr must have cols + 1 = " + std::to_string(cols + 1) + " entries, got " +
         std::to_string(indptr.shape(0)));
  const Index nnz = static_cast<Index>(data.shape(0));
  if (static_cast<Index>(indices.shape(0)) != nnz) fail("indices and data differ in length");
  // The arrays' lengths are checked here; their contents by the core.
  const SparseView view(rows, cols, nnz, indptr.data(), indices.data(), data.data());
  validate_structure(view, name);
  return view;
}

}  // namespace dqp::python
