#include "csc.hpp"

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
  const Index* ptr = indptr.data();
  if (ptr[0] != 0 || ptr[cols] != nnz) fail("indptr must start at 0 and end at nnz");
  for (Index j = 0; j < cols; ++j)
    if (ptr[j + 1] < ptr[j]) fail("indptr must be non-decreasing");
  const Index* idx = indices.data();
  for (Index k = 0; k < nnz; ++k)
    if (idx[k] < 0 || idx[k] >= rows) fail("row index out of range");
  return SparseView(rows, cols, nnz, ptr, idx, data.data());
}

}  // namespace dqp::python
