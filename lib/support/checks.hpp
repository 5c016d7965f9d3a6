#pragma once
// Argument checks that every layer of the library makes, written once so that a mistake reads the same wherever
// it is made.
#include <xgrad/errors.hpp>
#include <xgrad/ops.hpp>
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

/// Throws Error("<op>: mean must be a finite number and std a finite non-negative one, got <mean> and <std>"):
/// randn and the initializers that draw from it, each under its own name.
inline void require_normal_parameters(const char* op, double mean, double std) {
    if (!std::isfinite(mean) || !is_finite_non_negative(std))
        throw Error(fmt::format("{}: mean must be a finite number and std a finite non-negative one, got {} and {}",
                                op, mean, std));
}

/// Throws Error("<op>: the range [<low>, <high>) must be finite with low <= high"): rand and the initializers that
/// draw from it.
inline void require_uniform_range(const char* op, double low, double high) {
    if (!std::isfinite(low) || !std::isfinite(high) || low > high)
        throw Error(fmt::format("{}: the range [{}, {}) must be finite with low <= high", op, low, high));
}

/// Throws ShapeError("<who>: kernel (0, 2) must be positive"), likewise for the stride, or "<who>: padding (2, 0)
/// must be at most half the kernel (3, 3)": max_pool2d and avg_pool2d on every call, their modules when made.
void require_pool_settings(const char* who, const Size2& kernel, const Size2& stride, const Size2& padding);

/// Throws ShapeError("<who>: stride (0, 1) must be positive"), likewise for the dilation: conv2d on every call,
/// nn::Conv2d when made.
void require_stride_and_dilation(const char* who, const Conv2dOptions& options);

}  // namespace xg
