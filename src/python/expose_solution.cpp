#include <nanobind/eigen/dense.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "dqp/solution.hpp"
#include "expose.hpp"

namespace nb = nanobind;

namespace dqp::python {

void expose_solution(nb::module_& m) {
  nb::class_<Solution>(m, "Solution", "Result of a forward pass; keeps the KKT factorization.")
      .def_prop_ro("status", [](const Solution& s) { return std::string(to_string(s.status)); })
      .def_prop_ro("optimal", [](const Solution& s) { return is_optimal(s.status); })
      .def_ro("z", &Solution::z)
      .def_ro("lam", &Solution::lam)
      .def_ro("mu", &Solution::mu)
      .def_ro("active", &Solution::active)
      .def_ro("degeneracy", &Solution::degeneracy)
      .def_prop_ro("degenerate", &Solution::degenerate)
      .def_prop_ro("degenerate_reason", [](const Solution& s) { return describe_degeneracy(s.degeneracy); })
      .def_ro("polished", &Solution::polished)
      .def_ro("duals_recovered", &Solution::duals_recovered)
      .def_ro("iterations", &Solution::iterations)
      .def_ro("solver", &Solution::solver)
      .def_prop_ro("linear_solver", &Solution::linear_solver)
      .def_ro("kkt_residual", &Solution::kkt_residual)
      .def_prop_ro("storage", [](const Solution& s) { return std::string(to_string(s.storage)); },
                   "The path that solved the problem: 'dense', or 'sparse' (sparse data, or dense data "
                   "that the storage setting sent to the sparse path).")
      .def_prop_ro("differentiable", &Solution::differentiable)
      .def_prop_ro("solve_time", [](const Solution& s) { return s.timings.solve; })
      .def_prop_ro("active_set_time", [](const Solution& s) { return s.timings.active_set; })
      .def_prop_ro("total_time", [](const Solution& s) { return s.timings.total; })
      .def("__repr__", [](const Solution& s) {
        return "<dqp.Solution status=" + std::string(to_string(s.status)) +
               " n=" + std::to_string(s.z.size()) + " active=" + std::to_string(s.active.size()) +
               " storage=" + to_string(s.storage) +
               (s.degenerate() ? " degenerate" : "") + ">";
      });
  m.attr("DEGENERATE_TOO_MANY_ACTIVE") = static_cast<unsigned>(kTooManyActive);
  m.attr("DEGENERATE_SINGULAR_KKT") = static_cast<unsigned>(kSingularKKT);
  m.attr("DEGENERATE_WEAKLY_ACTIVE") = static_cast<unsigned>(kWeaklyActive);
}

}  // namespace dqp::python
