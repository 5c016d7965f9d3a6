// Numeric gradients by central differences, and gradcheck comparing them with the tape's.
#include "support/checks.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/gradcheck.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/random.hpp>

#include <algorithm>
#include <cmath>

namespace xg {

namespace {

double element(const Var& x, std::size_t i) {
    return x.visit_value([i](const auto& a) { return static_cast<double>(a.data()[i]); });
}
void set_element(Var& x, std::size_t i, double v) {
    x.visit_mutable_value([i, v](auto& a) { a.data()[i] = static_cast<std::decay_t<decltype(a.data()[i])>>(v); });
}

double scalar_result(const Var& y, const char* who) {
    require_defined(who, y);
    if (y.size() != 1)
        throw ShapeError(fmt::format("{}: the function must return one element, got shape {}", who, to_string(y.shape())));
    return y.item();
}

// (f(x + h·e_i) − f(x − h·e_i)) / 2h, restoring x's element afterwards.
double central_difference(const std::function<double()>& f, Var& x, std::size_t i, double h) {
    const double original = element(x, i);
    set_element(x, i, original + h);
    const double plus = f();
    set_element(x, i, original - h);
    const double minus = f();
    set_element(x, i, original);
    return (plus - minus) / (2 * h);
}

Shape position(const Shape& shape, std::size_t flat) {
    Shape index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    return index;
}

}  // namespace

Var numerical_gradient(const std::function<Var(const Var&)>& f, const Var& x0, double h) {
    require_defined("numerical_gradient", x0);
    NoGradGuard no_grad;
    Var x = x0.detach();
    Var gradient = zeros(x.shape(), x.dtype());
    const auto value = [&] { return scalar_result(f(x), "numerical_gradient"); };
    for (std::size_t i = 0; i < x.size(); ++i) set_element(gradient, i, central_difference(value, x, i, h));
    return gradient;
}

GradcheckReport gradcheck(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs,
                          GradcheckOptions options) {
    std::vector<Var> xs;
    std::vector<std::size_t> checked;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        require_defined("gradcheck", inputs[i]);
        Var copy = inputs[i].detach();
        if (options.in_float64) copy = copy.to(Dtype::float64);
        copy.set_requires_grad(inputs[i].requires_grad());
        if (inputs[i].requires_grad()) checked.push_back(i);
        xs.push_back(copy);
    }
    if (checked.empty()) throw Error("gradcheck: no input requires grad, so there is nothing to check");
    if (!(options.eps > 0.0) || std::isinf(options.eps))
        throw Error(fmt::format("gradcheck: eps must be a positive number, got {}", options.eps));

    // A non-scalar output is reduced along a fixed random direction r, checking the VJP for cotangent r.
    Var direction;
    Generator generator(options.seed);
    const auto objective = [&]() {
        Var y = f(xs);
        require_defined("gradcheck", y);
        if (y.size() == 1) return y.dim() ? sum(y) : y;
        if (!direction.defined()) direction = randn(y.shape(), generator, y.dtype());
        return sum(y * direction);
    };

    std::vector<Var> wrt;
    for (std::size_t i : checked) wrt.push_back(xs[i]);
    const std::vector<Var> analytic = grad(objective(), wrt);

    GradcheckReport report;
    // Evaluated with grad mode on: f may itself call grad (a gradient penalty, or gradcheck of a gradient).
    const auto numeric_value = [&] { return objective().item(); };
    for (std::size_t j = 0; j < checked.size(); ++j) {
        Var x = wrt[j];  // a handle: central_difference nudges its elements in place
        InputReport r;
        r.input = checked[j];
        r.name = inputs[checked[j]].name();
        r.shape = x.shape();
        r.max_relative_error = -1;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double a = element(analytic[j], i);
            const double n = central_difference(numeric_value, x, i, options.eps);
            const double difference = std::abs(a - n);
            // Differences between values below atol are measured against atol: they are finite-difference
            // noise around zero, not relative errors of 1.
            const double relative = std::isfinite(difference)
                                        ? difference / std::max({std::abs(a), std::abs(n), options.atol})
                                        : INFINITY;
            if (!(difference <= options.atol + options.rtol * std::abs(n))) r.passed = false;
            if (relative > r.max_relative_error) {
                r.max_relative_error = relative;
                r.worst_index = position(x.shape(), i);
                r.analytic = a;
                r.numeric = n;
            }
        }
        report.passed = report.passed && r.passed;
        report.inputs.push_back(r);
    }
    return report;
}

std::string GradcheckReport::to_string() const {
    std::string out;
    for (const InputReport& r : inputs) {
        const std::string who = r.name.empty() ? fmt::format("input {}", r.input) : r.name;
        out += fmt::format("{} {}: max relative error {:.3e}, worst at {}: analytic {:.10g}, numeric {:.10g}  {}\n",
                           who, xg::to_string(r.shape), r.max_relative_error, xg::to_string(r.worst_index),
                           r.analytic, r.numeric, r.passed ? "ok" : "FAILED");
    }
    return out;
}

std::string to_string(const GradcheckReport& report) { return report.to_string(); }

std::ostream& operator<<(std::ostream& out, const GradcheckReport& report) { return out << report.to_string(); }

}  // namespace xg
