// K⁻¹ on given active sets, for a batch of dense problems: what dqp.jax's
// forward-mode rule needs (it cannot keep a forward Solution between its
// pure callbacks, so each call factors again, exactly as the forward did).
#include <nanobind/ndarray.h>

#include <string>
#include <vector>

#include "dqp/active_set_solve.hpp"
#include "dqp/batch.hpp"
#include "dqp/layer.hpp"
#include "expose.hpp"

namespace nb = nanobind;

namespace dqp::python {
namespace {

using Array3 = nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Mask = nb::ndarray<const bool, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Output = nb::ndarray<nb::numpy, double, nb::ndim<3>>;

void check_batch(std::size_t got, std::size_t size, const char* name) {
  if (got != size)
    throw std::invalid_argument(std::string(name) + " has batch size " + std::to_string(got) +
                                ", expected " + std::to_string(size));
}

}  // namespace

void expose_kkt(nb::module_& m) {
  m.def("solve_on_active_sets_dense",
        [](const Layer& layer, const Array3& P, const Array3& C, const Array3& A,
           const Mask& active, const Array3& rhs, int threads) {
          const std::size_t size = P.shape(0);
          const Index n = static_cast<Index>(P.shape(1)), m = static_cast<Index>(C.shape(1)),
                      p = static_cast<Index>(A.shape(1));
          for (auto [got, name] : {std::pair{C.shape(0), "C"}, {A.shape(0), "A"},
                                   {active.shape(0), "active"}, {rhs.shape(0), "rhs"}})
            check_batch(got, size, name);
          if (P.shape(2) != P.shape(1) || C.shape(2) != P.shape(1) || A.shape(2) != P.shape(1))
            throw std::invalid_argument("P must be (B, n, n), C (B, m, n) and A (B, p, n)");
          if (static_cast<Index>(active.shape(1)) != m)
            throw std::invalid_argument("active must be (B, m) with m = " + std::to_string(m));
          if (static_cast<Index>(rhs.shape(2)) != n + p + m)
            throw std::invalid_argument("rhs must be (B, r, n + p + m) with n + p + m = " +
                                        std::to_string(n + p + m));
          const Index columns = static_cast<Index>(rhs.shape(1)), width = n + p + m;
          auto* out = new double[size * columns * width];
          nb::capsule owner(out, [](void* data) noexcept { delete[] static_cast<double*>(data); });
          {
            nb::gil_scoped_release release;
            parallel_for(static_cast<Index>(size), threads, [&](Index i) {
              auto view = [&](const Array3& M, Index rows) {
                return DenseView(Eigen::Map<const RowMatrix>(M.data() + i * rows * n, rows, n));
              };
              // Only the matrices enter K; the vectors are placeholders of the right size.
              const Vector zero_n = Vector::Zero(n), zero_m = Vector::Zero(m), zero_p = Vector::Zero(p);
              const DenseProblem qp{view(P, n), zero_n, view(C, m), zero_m, view(A, p), zero_p};
              std::vector<Index> rows;
              for (Index j = 0; j < m; ++j)
                if (active.data()[i * m + j]) rows.push_back(j);
              // Row-major (r, width) in and out is column-major (width, r).
              Eigen::Map<Eigen::MatrixXd> x(out + i * columns * width, width, columns);
              x = Eigen::Map<const Eigen::MatrixXd>(rhs.data() + i * columns * width, width,
                                                    columns);
              solve_on_active_set(qp, rows, layer.settings(), x);
            });
          }
          return Output(out, {size, static_cast<std::size_t>(columns), static_cast<std::size_t>(width)},
                        owner);
        },
        nb::arg("layer"), nb::arg("P"), nb::arg("C"), nb::arg("A"), nb::arg("active"),
        nb::arg("rhs"), nb::arg("threads") = 0,
        "K⁻¹ rhs for each problem on its active set: P (B, n, n), C (B, m, n), A (B, p, n), "
        "active (B, m) bool, rhs (B, r, n + p + m) as [z; λ; μ] rows (μ outside the active "
        "set passes through). Factors K as the forward pass does.");
}

}  // namespace dqp::python
