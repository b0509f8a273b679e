// Constructors of the forward-solver adapters. Adding a solver is adding a
// file (or a pair dense/sparse) and one line in registry.cpp.
#pragma once

#include <memory>

#include "dqp/qp_solver.hpp"

namespace dqp::solvers {

std::unique_ptr<QPSolver> make_proxqp();
#ifdef DQP_HAVE_QPOASES
std::unique_ptr<QPSolver> make_qpoases();
#endif
#ifdef DQP_HAVE_CLP
std::unique_ptr<QPSolver> make_clp();
#endif
#ifdef DQP_HAVE_PIQP
std::unique_ptr<QPSolver> make_piqp();
#endif
#ifdef DQP_HAVE_DAQP
std::unique_ptr<QPSolver> make_daqp();
#endif
#ifdef DQP_HAVE_HIGHS
std::unique_ptr<QPSolver> make_highs();
#endif

}  // namespace dqp::solvers
