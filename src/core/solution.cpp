#include "dqp/solution.hpp"

#include "reduced_kkt.hpp"

namespace dqp {

std::string describe_degeneracy(unsigned flags) {
  if (flags == kNotDegenerate) return "not degenerate";
  std::string text;
  auto add = [&text](const char* what) {
    if (!text.empty()) text += ", ";
    text += what;
  };
  if (flags & kTooManyActive) add("more active constraints than variables");
  if (flags & kSingularKKT) add("singular reduced KKT matrix");
  if (flags & kWeaklyActive) add("weakly active constraint (zero dual)");
  return text;
}

std::string Solution::linear_solver() const { return kkt ? kkt->solver_name() : std::string(); }

}  // namespace dqp
