// libFuzzer harness for the C++ core: problem data, settings and incoming
// gradients from the fuzzer's bytes, through Layer::forward and backward.
//
// Allowed outcomes: a std::invalid_argument (bad data, named), a non-optimal
// status, a std::overflow_error from backward (data too extreme), or an
// optimal solution whose outputs and gradients are finite.
// Anything else (another exception, a crash, a sanitizer report, NaN from an
// optimal solve) is a bug.
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "dqp/dqp.hpp"

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Mostly moderate numbers, sometimes zero, huge, tiny, NaN, Inf or raw bits.
  double value() {
    const uint8_t kind = byte();
    const double unit = (static_cast<int>(byte()) - 128) / 32.0;
    if (kind < 180) return unit;
    if (kind < 200) return 0.0;
    if (kind < 210) return unit * 1e5;
    if (kind < 220) return unit * 1e-12;
    if (kind < 225) return std::nan("");
    if (kind < 230) return (unit < 0 ? -1 : 1) * INFINITY;
    double raw;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
    std::memcpy(&raw, &bits, sizeof raw);
    return raw;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

dqp::RowMatrix matrix(Bytes& in, dqp::Index rows, dqp::Index cols) {
  dqp::RowMatrix M(rows, cols);
  for (dqp::Index i = 0; i < rows; ++i)
    for (dqp::Index j = 0; j < cols; ++j) M(i, j) = in.value();
  return M;
}

dqp::Vector vector(Bytes& in, dqp::Index size) {
  dqp::Vector v(size);
  for (dqp::Index i = 0; i < size; ++i) v[i] = in.value();
  return v;
}

bool finite(const dqp::Vector& v) { return v.allFinite(); }

// A CSC matrix in arrays of its own, whose structure the fuzzer may break:
// indices written anywhere, out of order or repeated, column pointers that
// decrease or miss nnz. The arrays keep their lengths, so that only dqp's
// validation stands between the broken structure and the solvers.
struct CSC {
  dqp::Index rows, cols;
  std::vector<dqp::Index> indptr, indices;
  std::vector<double> values;

  explicit CSC(dqp::SparseMatrix M) : rows(M.rows()), cols(M.cols()) {
    M.makeCompressed();
    indptr.assign(M.outerIndexPtr(), M.outerIndexPtr() + cols + 1);
    indices.assign(M.innerIndexPtr(), M.innerIndexPtr() + M.nonZeros());
    values.assign(M.valuePtr(), M.valuePtr() + M.nonZeros());
  }

  void corrupt(Bytes& in) {
    const dqp::Index nnz = static_cast<dqp::Index>(indices.size());
    const uint8_t kind = in.byte() % 4;
    if (kind == 0 && nnz > 0) {  // a row index anywhere, in range or not
      indices[in.byte() % nnz] = static_cast<dqp::Index>(in.byte()) - 16;
    } else if (kind == 1 && nnz > 1) {  // two entries swapped: unsorted
      std::swap(indices[in.byte() % nnz], indices[in.byte() % nnz]);
    } else if (kind == 2 && nnz > 1) {  // a repeated row index
      const dqp::Index k = 1 + in.byte() % (nnz - 1);
      indices[k] = indices[k - 1];
    } else {  // a column pointer anywhere in [-1, nnz + 2]
      indptr[in.byte() % (cols + 1)] = static_cast<dqp::Index>(in.byte() % (nnz + 4)) - 1;
    }
  }

  dqp::SparseView view() const {
    return dqp::SparseView(rows, cols, static_cast<dqp::Index>(values.size()), indptr.data(),
                           indices.data(), values.data());
  }
};

// Aborts (a finding for libFuzzer) naming the broken promise.
#define REQUIRE(condition)                                              \
  do {                                                                  \
    if (!(condition)) {                                                 \
      std::fprintf(stderr, "fuzz_core: broken promise: %s\n", #condition); \
      std::abort();                                                     \
    }                                                                   \
  } while (0)

template <class Problem, class Gradients>
void run(const dqp::Layer& layer, const Problem& problem, Bytes& in) {
  if (std::getenv("DQP_FUZZ_VERBOSE")) {  // triage: what the failing input means
    std::cerr << "n=" << problem.n() << " m=" << problem.m() << " p=" << problem.p()
              << " settings: lin_solver=" << layer.settings().lin_solver
              << " qp_solver=" << layer.settings().qp_solver
              << " normalize=" << layer.settings().normalize_constraints
              << " refine=" << layer.settings().refine_active << "\nP=\n" << dqp::RowMatrix(problem.P)
              << "\nq=" << problem.q.transpose() << "\nC=\n" << dqp::RowMatrix(problem.C)
              << "\nd=" << problem.d.transpose() << "\nA=\n" << dqp::RowMatrix(problem.A)
              << "\nb=" << problem.b.transpose() << std::endl;
  }
  dqp::Solution solution;
  try {
    solution = layer.forward(problem);
  } catch (const std::invalid_argument&) {
    return;
  }
  if (std::getenv("DQP_FUZZ_VERBOSE"))
    std::cerr << "status=" << dqp::to_string(solution.status) << " z=" << solution.z.transpose()
              << " active=" << solution.active.size() << " degeneracy=" << solution.degeneracy
              << std::endl;
  if (!dqp::is_optimal(solution.status)) return;
  REQUIRE(finite(solution.z) && finite(solution.lam) && finite(solution.mu));
  REQUIRE(solution.differentiable());
  const dqp::Vector dz = vector(in, problem.n()).unaryExpr([](double x) {
    return std::isfinite(x) ? x : 1.0;
  });
  Gradients g;
  try {
    g = layer.backward(problem, solution, dz, dqp::Vector(), dqp::Vector());
  } catch (const std::overflow_error&) {
    return;  // documented: data too extreme for double precision, said so
  }
  REQUIRE(g.P.allFinite() && g.C.allFinite() && g.A.allFinite());
  REQUIRE(finite(g.q) && finite(g.d) && finite(g.b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const dqp::Index n = 1 + in.byte() % 6, m = in.byte() % 7, p = in.byte() % 3;
  const uint8_t flags = in.byte();
  dqp::Settings settings;
  settings.max_iter = 200;
  // ProxQP has no time limit and can crawl for minutes on valid data spanning
  // 1e12 (a 3-variable problem with q ~ 3e12 took over a minute): this harness
  // hunts crashes and wrong answers, not slow convergence, so larger entries
  // take the rejection path.
  settings.max_abs_value = 1e6;
  settings.normalize_constraints = flags & 1;
  settings.refine_active = flags & 2;
  settings.dual_available = !(flags & 4);
  const bool sparse = flags & 16;
  const bool raw_P = (flags & 96) == 96;  // 1 in 4: P straight from the bytes
  // A P straight from the bytes is rarely convex, and ProxQP on a non-convex
  // problem can iterate for minutes: check_psd is the documented guard.
  settings.check_psd = (flags & 8) || raw_P;
  const auto solvers = dqp::linear_solvers();
  std::vector<std::string> usable;
  for (const auto& info : solvers)
    if (sparse ? info.sparse : info.dense) usable.push_back(info.name);
  settings.lin_solver = in.byte() % 2 ? "auto" : usable[in.byte() % usable.size()];
  if (!sparse && in.byte() % 4 == 0) {
    for (const auto& info : dqp::qp_solvers())
      if (info.name == "qpoases") settings.qp_solver = "qpoases";
  }

  dqp::RowMatrix P = matrix(in, n, n);
  if (!raw_P) {
    // Positive semidefinite from the bytes: MᵀM plus a small shift.
    const dqp::RowMatrix M = P.unaryExpr([](double x) { return std::isfinite(x) ? x : 0.0; });
    P = M.transpose() * M + 1e-3 * dqp::RowMatrix::Identity(n, n);
  }
  const dqp::RowMatrix C = matrix(in, m, n), A = matrix(in, p, n);
  const dqp::Vector q = vector(in, n), d = vector(in, m), b = vector(in, p);

  const dqp::Layer layer(settings);
  if (!sparse) {
    run<dqp::DenseProblem, dqp::DenseGradients>(layer, {P, q, C, d, A, b}, in);
    return 0;
  }
  CSC Ps(P.sparseView()), Cs(C.sparseView()), As(A.sparseView());
  // One byte in five (none when the input has run out) breaks the CSC
  // structure of one matrix: validate must name it (std::invalid_argument)
  // before any solver reads through it.
  const uint8_t corrupt = in.byte();
  if (corrupt >= 205) {
    CSC* target[] = {&Ps, &Cs, &As};
    target[corrupt % 3]->corrupt(in);
  }
  run<dqp::SparseProblem, dqp::SparseGradients>(
      layer, {Ps.view(), q, Cs.view(), d, As.view(), b}, in);
  return 0;
}
