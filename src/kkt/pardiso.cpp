// MKL PARDISO, symmetric indefinite mode (mtype = -2): sparse LDLᵀ with
// Bunch–Kaufman pivoting inside supernodes, pivot perturbation where that is
// not enough, and iterative refinement against K itself. MKL is opened at
// run time (mkl_runtime.hpp says why).
//
// A factorization is refused (the core falls back) when PARDISO reports an
// error, when K has a zero pivot (the inertia misses eigenvalues), or when
// pivots were perturbed and the refined solve of a test right-hand side is
// not accurate: perturbation turns a singular K into a nearby regular one.
#include <mkl_pardiso.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters.hpp"
#include "mkl_runtime.hpp"
#include "primal_size.hpp"

namespace dqp::kkt {
namespace {

using PIndex = long long;
using PMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, PIndex>;
using PardisoFn = decltype(&pardiso_64);

// Relative accuracy the test solve must reach when pivots were perturbed;
// below the core's own check (1e-9).
constexpr double kAccuracy = 1e-11;

// pardiso_64: 64-bit integers whatever MKL's default interface.
PardisoFn load_pardiso() { return reinterpret_cast<PardisoFn>(mkl_symbol("pardiso_64")); }

class PardisoFactorization final : public KKTFactorization {
 public:
  PardisoFactorization(const KKTSparse& K, Index n) : K_(K), size_(K.rows()), pardiso_(load_pardiso()) {
    handle_.fill(nullptr);
    iparm_.fill(0);
    iparm_[0] = 1;    // the settings below, not PARDISO's defaults
    iparm_[1] = 2;    // nested-dissection ordering (METIS)
    iparm_[7] = 2;    // iterative refinement steps (needed after perturbation)
    iparm_[9] = 8;    // perturb pivots below 1e-8 ‖K‖
    iparm_[10] = 1;   // symmetric scaling and ...
    iparm_[12] = 1;   // ... weighted matching: 2×2 pivots for the zero block
    iparm_[20] = 1;   // Bunch–Kaufman pivoting
    iparm_[34] = 1;   // zero-based indices
    if (size_ == 0) {
      ok_ = true;
      return;
    }

    // PARDISO reads the upper triangle in CSR: the lower triangle in CSC,
    // which K's symmetry gives, with every diagonal entry stored (PARDISO
    // requires them, zero or not).
    std::vector<Eigen::Triplet<double, PIndex>> triplets;
    triplets.reserve(K.nonZeros() / 2 + size_);
    for (Index j = 0; j < size_; ++j) {
      triplets.emplace_back(j, j, 0.0);
      for (KKTSparse::InnerIterator it(K, j); it; ++it)
        if (it.row() >= j) triplets.emplace_back(it.row(), j, it.value());
    }
    lower_.resize(size_, size_);
    lower_.setFromTriplets(triplets.begin(), triplets.end());
    lower_.makeCompressed();

    PIndex error = call(12, nullptr, nullptr);  // analysis and factorization
    factored_ = true;
    if (error != 0) return;
    const PIndex positive = iparm_[21], negative = iparm_[22], perturbed = iparm_[13];
    // K = [[P, Ãᵀ], [Ã, 0]] with P ⪰ 0 is nonsingular exactly when its
    // inertia is (n, k, 0).
    const bool inertia = positive == n && negative == size_ - n;
    ok_ = inertia && (perturbed == 0 || accurate());
  }

  ~PardisoFactorization() override {
    if (factored_) call(-1, nullptr, nullptr);  // release PARDISO's memory
  }

  bool ok() const { return ok_; }

  // One handle keeps PARDISO's solve workspace: solves are serialized.
  void solve(Eigen::Ref<Vector> rhs) const override {
    if (size_ == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Vector b = rhs;
    call(33, b.data(), rhs.data());
  }

 private:
  PIndex call(PIndex phase, double* b, double* x) const {
    const PIndex max_factors = 1, factor = 1, mtype = -2, nrhs = 1, message_level = 0;
    const PIndex n = size_;
    PIndex error = 0;
    pardiso_(handle_.data(), &max_factors, &factor, &mtype, &phase, &n, lower_.valuePtr(),
             lower_.outerIndexPtr(), lower_.innerIndexPtr(), nullptr, &nrhs, iparm_.data(),
             &message_level, b, x, &error);
    return error;
  }

  bool accurate() const {
    Vector b(size_);
    for (Index i = 0; i < size_; ++i) b[i] = 1.0 + 0.5 * std::sin(static_cast<double>(i) + 1.0);
    Vector x = b;
    solve(x);
    if (!x.allFinite()) return false;
    const Vector Kx = K_ * x;
    const double scale = b.cwiseAbs().maxCoeff() + Kx.cwiseAbs().maxCoeff();
    return (Kx - b).cwiseAbs().maxCoeff() <= kAccuracy * scale;
  }

  KKTSparse K_;
  Index size_;
  PardisoFn pardiso_;
  PMatrix lower_;
  mutable std::array<void*, 64> handle_;  // PARDISO's internal memory pointers
  mutable std::array<PIndex, 64> iparm_;  // PARDISO writes statistics here
  mutable std::mutex mutex_;
  bool factored_ = false;
  bool ok_ = false;
};

class Pardiso final : public LinearSolver {
 public:
  using LinearSolver::factorize;
  using LinearSolver::factorize_kkt;
  LinearSolverInfo info() const override {
    return {"pardiso", false, true, false,
            "sparse symmetric-indefinite LDL^T with pivoting and perturbation (MKL PARDISO)"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTSparse& K) const override {
    return factorize_kkt(K, primal_size(K));
  }
  std::unique_ptr<KKTFactorization> factorize_kkt(const KKTSparse& K, Index n) const override {
    if (!load_pardiso()) throw std::runtime_error("pardiso: libmkl_rt could not be loaded");
    auto factorization = std::make_unique<PardisoFactorization>(K, n);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

bool pardiso_available() { return load_pardiso() != nullptr; }

std::unique_ptr<LinearSolver> make_pardiso() { return std::make_unique<Pardiso>(); }

}  // namespace dqp::kkt
