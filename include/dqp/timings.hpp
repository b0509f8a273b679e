// Wall-clock time spent in each stage of a forward or backward pass, seconds.
#pragma once

namespace dqp {

struct Timings {
  double solve = 0.0;        // the forward QP solver alone
  double active_set = 0.0;   // active set, reduced KKT assembly and factorization, dual recovery
  double total = 0.0;        // everything in Layer::forward
};

}  // namespace dqp
