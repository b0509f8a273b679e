#include "mkl_runtime.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace dqp::kkt {
namespace {

constexpr int kMklThreadingSequential = 1;  // MKL_THREADING_SEQUENTIAL

void* open_mkl() {
  // DQP_DISABLE_MKL=1: run as if MKL were missing (the tests of the system
  // LAPACK path use it).
  const char* disable = std::getenv("DQP_DISABLE_MKL");
  if (disable && std::string(disable) == "1") return nullptr;
  // The library found when dqp was configured, then the loader's search path.
  for (const char* name : {DQP_MKL_RT_PATH, "libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"}) {
    void* library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!library) continue;
    // Must precede MKL's first computation to take effect.
    auto threading = reinterpret_cast<int (*)(int)>(dlsym(library, "MKL_Set_Threading_Layer"));
    if (threading) {
      threading(kMklThreadingSequential);
      return library;
    }
    dlclose(library);
  }
  return nullptr;
}

}  // namespace

void* mkl_symbol(const char* name) {
  static void* const library = open_mkl();
  return library ? dlsym(library, name) : nullptr;
}

}  // namespace dqp::kkt
