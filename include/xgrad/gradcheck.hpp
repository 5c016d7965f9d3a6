#pragma once
// Gradient checking: analytic gradients from the tape against central finite differences.
#include <xgrad/format.hpp>
#include <xgrad/var.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace xg {

/// d f / d x by central differences (f(x + h) − f(x − h)) / 2h, one element at a time, computed in x's own
/// dtype. f must return a one-element variable.
Var numerical_gradient(const std::function<Var(const Var&)>& f, const Var& x, double h = 1e-4);

struct GradcheckOptions {
    /// Finite-difference step.
    double eps = 1e-6;
    /// An element passes when |analytic − numeric| <= atol + rtol·|numeric| (PyTorch's defaults).
    double atol = 1e-5;
    double rtol = 1e-3;
    /// Check float32 inputs in float64 (the function is re-run on float64 copies of the inputs).
    bool in_float64 = true;
    /// Seeds the random cotangent used when f returns a non-scalar.
    std::uint64_t seed = 0;
};

struct InputReport {
    std::size_t input = 0;  // position in the inputs vector
    std::string name;       // the input's name, if it has one
    Shape shape;
    double max_relative_error = 0.0;  // max over elements of |a − n| / max(|a|, |n|, atol); Inf for NaN/Inf
    Shape worst_index;                // the element with that error
    double analytic = 0.0;            // both values at worst_index
    double numeric = 0.0;
    bool passed = true;
};

struct GradcheckReport {
    bool passed = true;
    std::vector<InputReport> inputs;  // one per input that requires grad
    /// One line per input: name, shape, max relative error, worst index and values, pass/fail.
    std::string to_string() const;
};

/// Checks every element of the gradient of f with respect to every input that requires grad. A non-scalar
/// f(inputs) is reduced to sum(f(inputs) · r) with a fixed random r, which checks the VJP along r.
GradcheckReport gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs,
                          GradcheckOptions options = {});

/// report.to_string(), for fmt and streams.
std::string to_string(const GradcheckReport& report);
std::ostream& operator<<(std::ostream& out, const GradcheckReport& report);

}  // namespace xg

/// `fmt::print("{}", report)`.
template <>
struct fmt::formatter<xg::GradcheckReport> : xg::ToStringFormatter<xg::GradcheckReport> {};
