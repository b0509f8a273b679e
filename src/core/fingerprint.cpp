// A cheap fingerprint of a problem, so that backward can refuse a solution
// computed for different data. Sizes, and a fixed sample of at most eight
// entries of each of the six arrays (and of the sparsity patterns): a few
// dozen loads, nothing next to a solve, and any change to the sizes or to a
// sampled entry changes it.
#include <cstring>

#include "dqp/problem.hpp"

namespace dqp {
namespace {

constexpr Index kSamples = 8;

class Hash {
 public:
  // A word at a time (a byte-wise FNV-1a took 1.7 us at n = 10, more than
  // the validation of the whole problem): xor, multiply by an odd constant,
  // fold the high bits down.
  void add(std::uint64_t word) {
    state_ = (state_ ^ word) * 0x9e3779b97f4a7c15ull;
    state_ ^= state_ >> 29;
  }
  void add_value(double value) {
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    add(bits);
  }
  std::uint64_t value() const { return state_ ? state_ : 1; }  // 0 means "none"

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ull;
};

// Entry k of the sample spreads the positions over [0, size).
Index sample_position(Index k, Index size) { return (k * size) / kSamples; }

void add_vector(Hash& hash, const VectorView& v) {
  hash.add(static_cast<std::uint64_t>(v.size()));
  for (Index k = 0; k < kSamples && v.size() > 0; ++k) hash.add_value(v[sample_position(k, v.size())]);
}

// Shapes enter through n, m and p only: a matrix without rows may be given
// as (0, 0) or (0, n), and both are the same problem.
void add_matrix(Hash& hash, const DenseView& M) {
  const Index size = M.rows() * M.cols();
  for (Index k = 0; k < kSamples && size > 0; ++k) {
    const Index at = sample_position(k, size);
    hash.add_value(M(at / M.cols(), at % M.cols()));
  }
}

void add_matrix(Hash& hash, const SparseView& M) {
  const Index nnz = M.nonZeros();
  hash.add(static_cast<std::uint64_t>(nnz));
  for (Index k = 0; k < kSamples && nnz > 0; ++k) {
    const Index at = sample_position(k, nnz);
    hash.add(static_cast<std::uint64_t>(M.innerIndexPtr()[at]));
    hash.add_value(M.valuePtr()[at]);
  }
  for (Index k = 0; k < kSamples && nnz > 0; ++k)
    hash.add(static_cast<std::uint64_t>(M.outerIndexPtr()[sample_position(k, M.cols())]));
}

template <class Problem>
std::uint64_t fingerprint_of(const Problem& qp) {
  Hash hash;
  hash.add(static_cast<std::uint64_t>(qp.n()));
  hash.add(static_cast<std::uint64_t>(qp.m()));
  hash.add(static_cast<std::uint64_t>(qp.p()));
  add_matrix(hash, qp.P);
  add_vector(hash, qp.q);
  add_matrix(hash, qp.C);
  add_vector(hash, qp.d);
  add_matrix(hash, qp.A);
  add_vector(hash, qp.b);
  return hash.value();
}

}  // namespace

std::uint64_t fingerprint(const DenseProblem& problem) { return fingerprint_of(problem); }
std::uint64_t fingerprint(const SparseProblem& problem) { return fingerprint_of(problem); }

}  // namespace dqp
