// The gradients a backward call computes, as Python passes them: six flags in
// (P, q, C, d, A, b) order. Gradients not wanted come back as None.
#pragma once

#include <array>
#include <optional>
#include <utility>

#include "dqp/gradients.hpp"

namespace dqp::python {

using WantedFlags = std::array<bool, 6>;
inline constexpr WantedFlags kAllGradients = {true, true, true, true, true, true};

inline GradientSelection selection(const WantedFlags& wanted) {
  return {wanted[0], wanted[1], wanted[2], wanted[3], wanted[4], wanted[5]};
}

template <class T>
std::optional<T> if_wanted(bool wanted, T&& value) {
  return wanted ? std::optional<T>(std::forward<T>(value)) : std::nullopt;
}

// The six gradients as an (optional, ...) tuple, None where not wanted.
template <class Gradients>
auto wanted_tuple(Gradients&& g, const WantedFlags& wanted) {
  return std::make_tuple(if_wanted(wanted[0], std::move(g.P)), if_wanted(wanted[1], std::move(g.q)),
                         if_wanted(wanted[2], std::move(g.C)), if_wanted(wanted[3], std::move(g.d)),
                         if_wanted(wanted[4], std::move(g.A)), if_wanted(wanted[5], std::move(g.b)));
}

}  // namespace dqp::python
