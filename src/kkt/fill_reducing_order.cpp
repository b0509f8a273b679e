#include "fill_reducing_order.hpp"

#include <Eigen/OrderingMethods>
#include <algorithm>
#include <cmath>

#ifdef DQP_HAVE_SUITESPARSE
#include <amd.h>
#endif

namespace dqp::kkt {

std::vector<int> eigen_amd_dense_rows_last(const KKTSparse& K) {
  const int size = static_cast<int>(K.rows());
  // A symmetric pattern: K may hold one triangle only.
  KKTSparse pattern = K.cwiseAbs();
  pattern = KKTSparse(pattern.transpose()) + pattern;
  const double dense_limit = std::max(16.0, 10.0 * std::sqrt(static_cast<double>(size)));
  std::vector<int> kept, dense, position(size, -1);
  for (int j = 0; j < size; ++j) {
    if (pattern.col(j).nonZeros() > dense_limit) {
      dense.push_back(j);
    } else {
      position[j] = static_cast<int>(kept.size());
      kept.push_back(j);
    }
  }
  std::vector<Eigen::Triplet<double>> triplets;
  triplets.reserve(pattern.nonZeros());
  for (int j : kept)
    for (KKTSparse::InnerIterator it(pattern, j); it; ++it)
      if (position[it.row()] >= 0) triplets.emplace_back(position[it.row()], position[j], 1.0);
  KKTSparse sparse_part(static_cast<Index>(kept.size()), static_cast<Index>(kept.size()));
  sparse_part.setFromTriplets(triplets.begin(), triplets.end());

  std::vector<int> order;
  order.reserve(size);
  if (!kept.empty()) {
    Eigen::AMDOrdering<int> amd;
    Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> pivots;
    amd(sparse_part, pivots);  // pivots.indices()[k]: the row eliminated k-th
    for (Index k = 0; k < pivots.size(); ++k) order.push_back(kept[pivots.indices()[k]]);
  }
  order.insert(order.end(), dense.begin(), dense.end());
  return order;
}

std::vector<int> fill_reducing_order(const KKTSparse& K) {
#ifdef DQP_HAVE_SUITESPARSE
  const int size = static_cast<int>(K.rows());
  if (size == 0) return {};
  KKTSparse compressed = K;
  compressed.makeCompressed();
  std::vector<int> order(size);
  double control[AMD_CONTROL], info[AMD_INFO];
  amd_defaults(control);
  const int status = amd_order(size, compressed.outerIndexPtr(), compressed.innerIndexPtr(),
                               order.data(), control, info);
  if (status == AMD_OK || status == AMD_OK_BUT_JUMBLED) return order;
  // Out of memory: the fallback needs less.
#endif
  return eigen_amd_dense_rows_last(K);
}

}  // namespace dqp::kkt
