// libmkl_rt (the `mkl` wheel on PyPI), opened at run time and privately
// (RTLD_LOCAL) rather than linked: MKL exports its own BLAS and LAPACK
// symbols (dgemm_, dsytrf_, ...), which would otherwise compete with the
// system ones that SuiteSparse and qpOASES are built against, and a dqp built
// with MKL's headers still runs where the library is missing. MKL runs
// sequentially: the batch engine already spreads problems over the cores,
// and this needs no OpenMP runtime.
#pragma once

namespace dqp::kkt {

// The address of an MKL function, or null when libmkl_rt cannot be opened
// (or lacks the symbol, or DQP_DISABLE_MKL=1 is set).
void* mkl_symbol(const char* name);

}  // namespace dqp::kkt
