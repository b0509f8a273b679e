// dqp._core: the C++ core seen from Python. Thin on purpose: the torch layer,
// input parsing and the qpsolvers bridge live in python/dqp.
#include "expose.hpp"

NB_MODULE(_core, m) {
  m.doc() = "dqp C++ core: differentiable QP forward and backward passes";
  // Solutions live on in autograd graphs and tracebacks until interpreter
  // exit; nanobind's exit-time leak report would be noise, not a bug.
  nanobind::set_leak_warnings(false);
  dqp::python::expose_settings(m);
  dqp::python::expose_solution(m);
  dqp::python::expose_layer(m);
  dqp::python::expose_registry(m);
  dqp::python::expose_batch(m);
  dqp::python::expose_kkt(m);
}
