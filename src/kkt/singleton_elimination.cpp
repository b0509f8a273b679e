#include "singleton_elimination.hpp"

#include <utility>

namespace dqp::kkt {
namespace {

// The entries of row i of K for i >= n (constraint rows): in column j of a
// symmetric K, which both storages reach quickly (dense column, CSC column).
template <class Visit>
void for_each_in_column(const KKTDense& K, Index column, Visit visit) {
  for (Index row = 0; row < K.rows(); ++row)
    if (K(row, column) != 0.0) visit(row, K(row, column));
}
template <class Visit>
void for_each_in_column(const KKTSparse& K, Index column, Visit visit) {
  for (KKTSparse::InnerIterator it(K, column); it; ++it)
    if (it.value() != 0.0) visit(it.row(), it.value());
}

KKTDense principal_submatrix(const KKTDense& K, const std::vector<Index>& kept) {
  const Index size = static_cast<Index>(kept.size());
  KKTDense sub(size, size);
  for (Index b = 0; b < size; ++b)
    for (Index a = 0; a < size; ++a) sub(a, b) = K(kept[a], kept[b]);
  return sub;
}
KKTSparse principal_submatrix(const KKTSparse& K, const std::vector<Index>& kept) {
  std::vector<Index> position(K.rows(), -1);
  for (Index a = 0; a < static_cast<Index>(kept.size()); ++a) position[kept[a]] = a;
  std::vector<Eigen::Triplet<double>> entries;
  for (Index b = 0; b < static_cast<Index>(kept.size()); ++b)
    for (KKTSparse::InnerIterator it(K, kept[b]); it; ++it)
      if (position[it.row()] >= 0)
        entries.emplace_back(static_cast<int>(position[it.row()]), static_cast<int>(b), it.value());
  KKTSparse sub(static_cast<Index>(kept.size()), static_cast<Index>(kept.size()));
  sub.setFromTriplets(entries.begin(), entries.end());
  return sub;
}

struct Pair {
  Index row, column;  // the bound's row i of K and the variable j it fixes
  double value;       // K_ij
};

template <class Matrix>
class BoundEliminated final : public KKTFactorization {
 public:
  BoundEliminated(const Matrix& K, std::vector<Pair> pairs, std::vector<Index> kept,
                  std::unique_ptr<KKTFactorization> inner)
      : K_(K), pairs_(std::move(pairs)), kept_(std::move(kept)), inner_(std::move(inner)) {}

  void solve(Eigen::Ref<Vector> rhs) const override {
    Vector x = Vector::Zero(rhs.size());
    for (const Pair& pair : pairs_) x[pair.column] = rhs[pair.row] / pair.value;
    Vector product = K_ * x;  // K_·J x_J
    Vector reduced(static_cast<Index>(kept_.size()));
    for (Index a = 0; a < reduced.size(); ++a) reduced[a] = rhs[kept_[a]] - product[kept_[a]];
    if (inner_) inner_->solve(reduced);
    for (Index a = 0; a < reduced.size(); ++a) x[kept_[a]] = reduced[a];
    product = K_ * x;  // rows j: K_jS x_S + K_jJ x_J (x_I is still zero)
    for (const Pair& pair : pairs_) x[pair.row] = (rhs[pair.column] - product[pair.column]) / pair.value;
    rhs = x;
  }
  bool rank_deficient() const override { return inner_ && inner_->rank_deficient(); }
  // K is singular exactly when K_SS is (the eliminated pairs are exact).
  bool checks_condition() const override { return !inner_ || inner_->checks_condition(); }

 private:
  Matrix K_;
  std::vector<Pair> pairs_;
  std::vector<Index> kept_;
  std::unique_ptr<KKTFactorization> inner_;  // null when every row and variable is eliminated
};

template <class Matrix>
EliminatedFactorization eliminate(const Matrix& K, Index n, const std::vector<std::string>& solvers) {
  const Index size = K.rows();
  // The single-entry constraint rows, at most one per variable.
  std::vector<Pair> pairs;
  std::vector<bool> fixed(n, false), eliminated(size, false);
  std::vector<Index> entries(size, 0), last_column(size, -1);
  std::vector<double> last_value(size, 0.0);
  for (Index row = n; row < size; ++row) {
    // K is symmetric: row `row` is column `row`.
    for_each_in_column(K, row, [&](Index other, double value) {
      ++entries[row];
      last_column[row] = other;
      last_value[row] = value;
    });
    if (entries[row] == 1 && last_column[row] < n && !fixed[last_column[row]]) {
      fixed[last_column[row]] = true;
      eliminated[row] = eliminated[last_column[row]] = true;
      pairs.push_back({row, last_column[row], last_value[row]});
    }
  }
  if (pairs.empty()) return {};
  // A remaining constraint row inside the fixed columns: K_SS would be singular.
  for (Index row = n; row < size; ++row) {
    if (eliminated[row]) continue;
    bool has_free = false;
    for_each_in_column(K, row, [&](Index other, double) { has_free = has_free || (other < n && !fixed[other]); });
    if (!has_free) return {};
  }
  std::vector<Index> kept;
  Index free_variables = 0;
  for (Index i = 0; i < size; ++i) {
    if (eliminated[i]) continue;
    kept.push_back(i);
    if (i < n) ++free_variables;
  }
  // Every variable fixed by a bound, no other rows: nothing left to factor
  // (and some solvers divide by the size).
  if (kept.empty())
    return {std::make_unique<BoundEliminated<Matrix>>(K, std::move(pairs), std::move(kept), nullptr),
            solvers.front()};
  const Matrix reduced = principal_submatrix(K, kept);
  for (const std::string& name : solvers) {
    const auto solver = make_linear_solver(name);
    if (solver->info().least_squares) continue;
    auto inner = solver->factorize_kkt(reduced, free_variables);
    if (!inner) continue;
    return {std::make_unique<BoundEliminated<Matrix>>(K, std::move(pairs), std::move(kept),
                                                       std::move(inner)),
            name};
  }
  return {};
}

}  // namespace

EliminatedFactorization factor_with_bounds_eliminated(const KKTDense& K, Index n,
                                                      const std::vector<std::string>& solvers) {
  return eliminate(K, n, solvers);
}

EliminatedFactorization factor_with_bounds_eliminated(const KKTSparse& K, Index n,
                                                      const std::vector<std::string>& solvers) {
  return eliminate(K, n, solvers);
}

}  // namespace dqp::kkt
