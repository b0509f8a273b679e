// Layer bindings. Dense arrays arrive as Eigen::Ref (zero-copy for C-contiguous
// float64); sparse matrices as (rows, cols, indptr, indices, data) CSC tuples
// mapped without copies. Every numerical call releases the GIL.
#include <nanobind/eigen/dense.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/tuple.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "dqp/layer.hpp"
#include "csc.hpp"
#include "expose.hpp"
#include "gradient_selection.hpp"

namespace nb = nanobind;

namespace dqp::python {

namespace {

// nanobind's Eigen casters take Eigen::Ref (converting float32 or strided
// arrays into a copy that lives for the call); the problem views them.
using DenseArg = Eigen::Ref<const RowMatrix>;
using VectorArg = Eigen::Ref<const Vector>;

SparseProblem sparse_problem(const CSC& P, const VectorArg& q, const CSC& C, const VectorArg& d,
                             const CSC& A, const VectorArg& b) {
  return {view_csc(P, "P"), q, view_csc(C, "C"), d, view_csc(A, "A"), b};
}

PrimalDual make_point(const Vector& z, const Vector& lam, const Vector& mu, bool has_duals,
                      Status status) {
  PrimalDual point;
  point.z = z;
  point.lam = lam;
  point.mu = mu;
  point.has_duals = has_duals;
  point.status = status;
  return point;
}

using WarmStart = std::optional<const Solution*>;
const Solution* warm_ptr(const WarmStart& warm) { return warm ? *warm : nullptr; }

}  // namespace

void expose_layer(nb::module_& m) {
  nb::enum_<Status>(m, "Status")
      .value("optimal", Status::Optimal)
      .value("primal_infeasible", Status::PrimalInfeasible)
      .value("dual_infeasible", Status::DualInfeasible)
      .value("max_iterations", Status::MaxIterations)
      .value("numerical_error", Status::NumericalError)
      .value("invalid_input", Status::InvalidInput)
      .value("non_convex", Status::NonConvex)
      .value("not_solved", Status::NotSolved);

  nb::class_<Layer>(m, "Layer")
      .def("__init__",
           [](Layer* self, const Settings& settings, bool native) {
             if (native)
               new (self) Layer(settings);
             else
               new (self) Layer(settings, nullptr);
           },
           nb::arg("settings"), nb::arg("native") = true,
           "native=False makes a layer whose points come from forward_from_* (Python solvers).")
      .def_prop_ro("settings", &Layer::settings)
      .def("validate_dense",
           [](const Layer& layer, const DenseArg& P, const VectorArg& q, const DenseArg& C,
              const VectorArg& d, const DenseArg& A, const VectorArg& b) {
             validate(DenseProblem{P, q, C, d, A, b}, layer.settings());
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           "Raise ValueError naming the bad argument (shapes, NaN/Inf, symmetry, PSD).")
      .def("validate_sparse",
           [](const Layer& layer, const CSC& P, const VectorArg& q, const CSC& C,
              const VectorArg& d, const CSC& A, const VectorArg& b) {
             validate(sparse_problem(P, q, C, d, A, b), layer.settings());
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"))
      .def("forward_dense",
           [](const Layer& layer, const DenseArg& P, const VectorArg& q, const DenseArg& C,
              const VectorArg& d, const DenseArg& A, const VectorArg& b, WarmStart warm) {
             return layer.forward(DenseProblem{P, q, C, d, A, b}, warm_ptr(warm));
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("warm") = nb::none(), nb::call_guard<nb::gil_scoped_release>())
      .def("forward_sparse",
           [](const Layer& layer, const CSC& P, const VectorArg& q, const CSC& C,
              const VectorArg& d, const CSC& A, const VectorArg& b, WarmStart warm) {
             return layer.forward(sparse_problem(P, q, C, d, A, b), warm_ptr(warm));
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("warm") = nb::none(), nb::call_guard<nb::gil_scoped_release>())
      .def("forward_from_dense",
           [](const Layer& layer, const DenseArg& P, const VectorArg& q, const DenseArg& C,
              const VectorArg& d, const DenseArg& A, const VectorArg& b, const Vector& z,
              const Vector& lam, const Vector& mu, bool has_duals, Status status) {
             return layer.forward_from(DenseProblem{P, q, C, d, A, b},
                                       make_point(z, lam, mu, has_duals, status));
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("z"), nb::arg("lam"), nb::arg("mu"), nb::arg("has_duals"), nb::arg("status"),
           nb::call_guard<nb::gil_scoped_release>())
      .def("forward_from_sparse",
           [](const Layer& layer, const CSC& P, const VectorArg& q, const CSC& C,
              const VectorArg& d, const CSC& A, const VectorArg& b, const Vector& z,
              const Vector& lam, const Vector& mu, bool has_duals, Status status) {
             return layer.forward_from(sparse_problem(P, q, C, d, A, b),
                                       make_point(z, lam, mu, has_duals, status));
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("z"), nb::arg("lam"), nb::arg("mu"), nb::arg("has_duals"), nb::arg("status"),
           nb::call_guard<nb::gil_scoped_release>())
      .def("backward_dense",
           [](const Layer& layer, const DenseArg& P, const VectorArg& q, const DenseArg& C,
              const VectorArg& d, const DenseArg& A, const VectorArg& b,
              const Solution& solution, const VectorArg& dz, const VectorArg& dlam,
              const VectorArg& dmu, const WantedFlags& wanted) {
             return wanted_tuple(layer.backward(DenseProblem{P, q, C, d, A, b}, solution, dz, dlam,
                                                dmu, selection(wanted)),
                                 wanted);
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("solution"), nb::arg("dz"), nb::arg("dlam"), nb::arg("dmu"),
           nb::arg("wanted") = kAllGradients, nb::call_guard<nb::gil_scoped_release>(),
           "Gradients (P, q, C, d, A, b) of a loss whose gradients in (z, lam, mu) are given; "
           "wanted (six flags) picks those to compute, the others are None.")
      .def("backward_sparse",
           [](const Layer& layer, const CSC& P, const VectorArg& q, const CSC& C,
              const VectorArg& d, const CSC& A, const VectorArg& b, const Solution& solution,
              const VectorArg& dz, const VectorArg& dlam, const VectorArg& dmu,
              const WantedFlags& wanted) {
             return wanted_tuple(layer.backward(sparse_problem(P, q, C, d, A, b), solution, dz,
                                                dlam, dmu, selection(wanted)),
                                 wanted);
           },
           nb::arg("P"), nb::arg("q"), nb::arg("C"), nb::arg("d"), nb::arg("A"), nb::arg("b"),
           nb::arg("solution"), nb::arg("dz"), nb::arg("dlam"), nb::arg("dmu"),
           nb::arg("wanted") = kAllGradients, nb::call_guard<nb::gil_scoped_release>(),
           "Gradients (P values, q, C values, d, A values, b); values in CSC storage order. "
           "wanted (six flags) picks those to compute, the others are None.");
}

}  // namespace dqp::python
