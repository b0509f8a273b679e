#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "dqp/kkt_solver.hpp"
#include "dqp/qp_solver.hpp"
#include "expose.hpp"

namespace nb = nanobind;

namespace dqp::python {

void expose_registry(nb::module_& m) {
  m.def("native_solvers", [] {
    nb::dict out;
    for (const SolverInfo& info : qp_solvers()) {
      nb::dict entry;
      entry["dense"] = info.dense;
      entry["sparse"] = info.sparse;
      entry["duals"] = info.duals;
      entry["warm_start"] = info.warm_start;
      out[info.name.c_str()] = entry;
    }
    return out;
  }, "Forward solvers compiled into the core: name -> capabilities.");
  m.def("linear_solvers", [] {
    nb::dict out;
    for (const LinearSolverInfo& info : linear_solvers()) {
      nb::dict entry;
      entry["dense"] = info.dense;
      entry["sparse"] = info.sparse;
      entry["least_squares"] = info.least_squares;
      entry["description"] = info.description;
      out[info.name.c_str()] = entry;
    }
    return out;
  }, "Linear solvers for the reduced KKT system: name -> capabilities.");
  m.def("resolve_linear_solver_name", &resolve_linear_solver_name, nb::arg("name"));
}

}  // namespace dqp::python
