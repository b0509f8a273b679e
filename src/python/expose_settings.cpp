#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "dqp/settings.hpp"
#include "expose.hpp"

namespace nb = nanobind;

namespace dqp::python {

void expose_settings(nb::module_& m) {
  nb::class_<Settings>(m, "Settings", "Every option of the core layer (see include/dqp/settings.hpp).")
      .def(nb::init<>())
      .def_rw("qp_solver", &Settings::qp_solver)
      .def_rw("fallback_solvers", &Settings::fallback_solvers)
      .def_rw("lin_solver", &Settings::lin_solver)
      .def_rw("strict_linear_solver", &Settings::strict_linear_solver)
      .def_rw("storage", &Settings::storage)
      .def_rw("eps_abs", &Settings::eps_abs)
      .def_rw("eps_rel", &Settings::eps_rel)
      .def_rw("max_iter", &Settings::max_iter)
      .def_rw("time_limit", &Settings::time_limit)
      .def_rw("eps_active", &Settings::eps_active)
      .def_rw("dual_available", &Settings::dual_available)
      .def_rw("normalize_constraints", &Settings::normalize_constraints)
      .def_rw("normalize_floor", &Settings::normalize_floor)
      .def_rw("refine_active", &Settings::refine_active)
      .def_rw("polish", &Settings::polish)
      .def_rw("weak_dual_tol", &Settings::weak_dual_tol)
      .def_rw("symmetry_tol", &Settings::symmetry_tol)
      .def_rw("check_psd", &Settings::check_psd)
      .def_rw("check_finite", &Settings::check_finite)
      .def_rw("warm_start", &Settings::warm_start)
      .def_rw("verbose", &Settings::verbose)
      .def("validate", &Settings::validate);
}

}  // namespace dqp::python
