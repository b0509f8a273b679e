#include "dqp/settings.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace dqp {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

void require_nonnegative(double value, const char* name) {
  require(std::isfinite(value) && value >= 0.0,
          std::string(name) + " must be a finite number >= 0, got " + std::to_string(value));
}

}  // namespace

void Settings::validate() const {
  require(!qp_solver.empty(), "qp_solver must name a solver");
  require(!lin_solver.empty(), "lin_solver must name a linear solver");
  require(storage == "auto" || storage == "input" || storage == "sparse",
          "storage must be 'auto', 'input' or 'sparse', got '" + storage + "'");
  require_nonnegative(eps_abs, "eps_abs");
  require_nonnegative(eps_rel, "eps_rel");
  require(eps_abs > 0.0 || eps_rel > 0.0, "eps_abs and eps_rel cannot both be 0");
  require(std::isfinite(eps_active) && eps_active > 0.0,
          "eps_active must be a finite number > 0, got " + std::to_string(eps_active));
  require(max_iter > 0, "max_iter must be > 0, got " + std::to_string(max_iter));
  require_nonnegative(time_limit, "time_limit");
  require_nonnegative(normalize_floor, "normalize_floor");
  require_nonnegative(weak_dual_tol, "weak_dual_tol");
  require_nonnegative(symmetry_tol, "symmetry_tol");
  require(max_abs_value > 0.0, "max_abs_value must be > 0");
}

}  // namespace dqp
