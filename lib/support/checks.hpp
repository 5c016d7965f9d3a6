#pragma once
// Argument checks that every layer of the library makes, written once so that a mistake reads the same wherever
// it is made.
#include <xgrad/errors.hpp>
#include <xgrad/var.hpp>

#include <fmt/core.h>

#include <cmath>

namespace xg {

/// Throws Error("<op>: undefined variable ...") for an empty handle.
void require_defined(const char* op, const Var& x);

/// Whether value is a number in [0, ∞): NaN and ±Inf are not.
inline bool is_finite_non_negative(double value) { return value >= 0.0 && !std::isinf(value); }

/// Throws E("<op>: <name> must be a non-negative number, got <value>") unless is_finite_non_negative(value).
template <class E = Error>
void require_non_negative(const char* op, const char* name, double value) {
    if (!is_finite_non_negative(value))
        throw E(fmt::format("{}: {} must be a non-negative number, got {}", op, name, value));
}

}  // namespace xg
