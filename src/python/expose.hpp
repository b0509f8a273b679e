// One function per bound concept, gathered by module.cpp.
#pragma once

#include <nanobind/nanobind.h>

namespace dqp::python {

void expose_settings(nanobind::module_& m);
void expose_solution(nanobind::module_& m);
void expose_layer(nanobind::module_& m);
void expose_registry(nanobind::module_& m);
void expose_batch(nanobind::module_& m);
void expose_kkt(nanobind::module_& m);

}  // namespace dqp::python
