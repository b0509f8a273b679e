// Dense symmetric-indefinite LDLᵀ with Bunch–Kaufman pivoting (LAPACK
// dsytrf/dsytrs): K = [[P, Ãᵀ], [Ã, 0]] is symmetric, so this is half the
// flops and half the memory of the pivoted LU, and is what the reference's
// "scipy LDL" computes. D has 1×1 and 2×2 blocks; K is refused (the core
// falls back) when one of D's eigenvalues is zero or tiny, or when LAPACK's
// condition estimate says K is numerically singular.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "adapters.hpp"
#ifdef DQP_HAVE_MKL
#include "mkl_runtime.hpp"
#endif

// LAPACK's Fortran interface, with gfortran's hidden lengths of the
// character arguments (passing them is harmless for libraries without).
extern "C" {
void dsytrf_(const char* uplo, const int* n, double* a, const int* lda, int* ipiv, double* work,
             const int* lwork, int* info, std::size_t uplo_len);
void dsytrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             const int* ipiv, double* b, const int* ldb, int* info, std::size_t uplo_len);
void dsycon_(const char* uplo, const int* n, const double* a, const int* lda, const int* ipiv,
             const double* anorm, double* rcond, double* work, int* iwork, int* info,
             std::size_t uplo_len);
}

namespace dqp::kkt {
namespace {

// The LAPACK in use: MKL's when libmkl_rt opens (at n = 1000 its dsytrf is
// 4.5x faster than the reference LAPACK and BLAS that Debian installs by
// default, and faster than Eigen's LU; the reference one is 3x slower than
// that LU), else the system's. MKL's LP64 interface takes the same ints.
struct Lapack {
  decltype(&dsytrf_) sytrf = dsytrf_;
  decltype(&dsytrs_) sytrs = dsytrs_;
  decltype(&dsycon_) sycon = dsycon_;
  const char* name = "system LAPACK";
};

const Lapack& lapack() {
  static const Lapack chosen = [] {
    Lapack system;
#ifdef DQP_HAVE_MKL
    auto sytrf = reinterpret_cast<decltype(&dsytrf_)>(mkl_symbol("dsytrf_"));
    auto sytrs = reinterpret_cast<decltype(&dsytrs_)>(mkl_symbol("dsytrs_"));
    auto sycon = reinterpret_cast<decltype(&dsycon_)>(mkl_symbol("dsycon_"));
    if (sytrf && sytrs && sycon) return Lapack{sytrf, sytrs, sycon, "MKL"};
#endif
    return system;
  }();
  return chosen;
}

class DenseLDLTFactorization final : public KKTFactorization {
 public:
  // Factors the lower triangle in place of a copy of K (column-major, as
  // LAPACK wants, which KKTDense is).
  explicit DenseLDLTFactorization(const KKTDense& K) : factor_(K), size_(static_cast<int>(K.rows())) {
    if (size_ == 0) {
      ok_ = true;
      return;
    }
    norm1_ = K.cwiseAbs().colwise().sum().maxCoeff();
    pivots_.resize(size_);
    const int lda = size_;
    int info = 0, query = -1;
    double optimal = 0.0;
    lapack().sytrf("L", &size_, factor_.data(), &lda, pivots_.data(), &optimal, &query, &info, 1);
    int lwork = std::max(1, static_cast<int>(optimal));
    std::vector<double> work(lwork);
    lapack().sytrf("L", &size_, factor_.data(), &lda, pivots_.data(), work.data(), &lwork, &info, 1);
    // info > 0: an exactly zero block of D.
    ok_ = info == 0 && factor_.allFinite() && !tiny_block() && !ill_conditioned();
  }

  bool ok() const { return ok_; }
  bool checks_condition() const override { return true; }

  // dsytrs reads the factor and writes only the right-hand side, so solves
  // from several threads on one factorization are safe.
  void solve(Eigen::Ref<Vector> rhs) const override {
    if (size_ == 0) return;
    const int nrhs = 1, lda = size_, ldb = size_;
    int info = 0;
    lapack().sytrs("L", &size_, &nrhs, factor_.data(), &lda, pivots_.data(), rhs.data(), &ldb, &info, 1);
  }

 private:
  // The smallest eigenvalue magnitude of D's blocks relative to the largest,
  // the test the pivoted LU applies to its pivots.
  bool tiny_block() const {
    double smallest = INFINITY, largest = 0.0;
    for (int k = 0; k < size_;) {
      if (pivots_[k] > 0) {  // 1×1 block
        const double d = std::abs(factor_(k, k));
        smallest = std::min(smallest, d);
        largest = std::max(largest, d);
        k += 1;
      } else {  // 2×2 block [[a, b], [b, c]] in rows k, k+1 (lower storage)
        const double a = factor_(k, k), b = factor_(k + 1, k), c = factor_(k + 1, k + 1);
        const double mean = 0.5 * (a + c), radius = std::hypot(0.5 * (a - c), b);
        const double big = std::abs(mean) + radius;
        // |λ_small| = |det| / |λ_big|, without cancellation.
        const double small = big > 0.0 ? std::abs(a * c - b * b) / big : 0.0;
        smallest = std::min(smallest, small);
        largest = std::max(largest, big);
        k += 2;
      }
    }
    return !(smallest > kSingularPivot * largest);
  }

  bool ill_conditioned() const {
    std::vector<double> work(2 * static_cast<std::size_t>(size_));
    std::vector<int> iwork(size_);
    const int lda = size_;
    int info = 0;
    double rcond = 0.0;
    lapack().sycon("L", &size_, factor_.data(), &lda, pivots_.data(), &norm1_, &rcond, work.data(),
            iwork.data(), &info, 1);
    return info != 0 || !(rcond >= kSingularPivot);
  }

  KKTDense factor_;
  int size_;
  std::vector<int> pivots_;
  double norm1_ = 0.0;
  bool ok_ = false;
};

class DenseLDLT final : public LinearSolver {
 public:
  LinearSolverInfo info() const override {
    return {"ldlt", true, false, false,
            std::string("dense symmetric-indefinite LDL^T, Bunch-Kaufman pivoting (dsytrf, ") +
                lapack().name + ")"};
  }
  std::unique_ptr<KKTFactorization> factorize(const KKTDense& K) const override {
    auto factorization = std::make_unique<DenseLDLTFactorization>(K);
    if (!factorization->ok()) return nullptr;
    return factorization;
  }
};

}  // namespace

std::unique_ptr<LinearSolver> make_dense_ldlt() { return std::make_unique<DenseLDLT>(); }

}  // namespace dqp::kkt
