// Constructors of the linear-solver adapters, one per file in this folder.
// Adding a linear solver is adding a file and one line in registry.cpp.
#pragma once

#include <memory>

#include "dqp/kkt_solver.hpp"

namespace dqp::kkt {

std::unique_ptr<LinearSolver> make_dense_lu();
std::unique_ptr<LinearSolver> make_dense_cod();
std::unique_ptr<LinearSolver> make_schur_llt();
#ifdef DQP_HAVE_LAPACK
std::unique_ptr<LinearSolver> make_dense_ldlt();
#endif
std::unique_ptr<LinearSolver> make_sparse_ldlt();
std::unique_ptr<LinearSolver> make_sparse_lu();
std::unique_ptr<LinearSolver> make_sparse_qr();
#ifdef DQP_HAVE_QDLDL
std::unique_ptr<LinearSolver> make_qdldl();
#endif
#ifdef DQP_HAVE_SUITESPARSE
std::unique_ptr<LinearSolver> make_umfpack();
std::unique_ptr<LinearSolver> make_klu();
std::unique_ptr<LinearSolver> make_spqr();
#endif
#ifdef DQP_HAVE_MKL
// False when libmkl_rt cannot be opened at run time: pardiso is then not listed.
bool pardiso_available();
std::unique_ptr<LinearSolver> make_pardiso();
#endif

// Relative size below which a pivot counts as zero.
inline constexpr double kSingularPivot = 1e-13;

}  // namespace dqp::kkt
