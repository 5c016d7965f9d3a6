// Initializers: each overwrites a parameter in place with a draw of randn or rand (the one place random tensors are
// drawn), from the caller's generator only.
#include "support/checks.hpp"

#include <xgrad/init.hpp>
#include <xgrad/random.hpp>

#include <cmath>

namespace xg::init {

namespace {

double fan(const Var& parameter, FanMode mode) {
    const auto [in, out] = fans(parameter);
    return mode == FanMode::fan_in ? in : out;
}

// The draws behind every random initializer, whose errors name the initializer called rather than randn or rand.
void fill_normal(const char* op, Var& parameter, Generator& generator, double mean, double std) {
    require_defined(op, parameter);
    require_normal_parameters(op, mean, std);
    parameter.copy_from(randn(parameter.shape(), generator, parameter.dtype(), mean, std));
}

void fill_uniform(const char* op, Var& parameter, Generator& generator, double low, double high) {
    require_defined(op, parameter);
    require_uniform_range(op, low, high);
    parameter.copy_from(rand(parameter.shape(), generator, parameter.dtype(), low, high));
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double negative_slope) {
    switch (nonlinearity) {
        case Nonlinearity::linear:
        case Nonlinearity::sigmoid: return 1.0;
        case Nonlinearity::tanh: return 5.0 / 3.0;
        case Nonlinearity::relu: return std::sqrt(2.0);
        case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
    }
    throw Error("calculate_gain: unknown nonlinearity");
}

std::pair<double, double> fans(const Var& parameter) {
    require_defined("init", parameter);
    const Shape& s = parameter.shape();
    if (s.empty() || parameter.size() == 0)
        throw ShapeError(fmt::format("init: fan-in and fan-out need a non-empty parameter with at least one axis, "
                                     "got shape {}",
                                     to_string(s)));
    if (s.size() == 1) return {double(s[0]), double(s[0])};
    // Axes after the first two (for example a kernel's) multiply both fans, as in PyTorch.
    const double receptive = static_cast<double>(parameter.size() / (s[0] * s[1]));
    return {double(s[0]) * receptive, double(s[1]) * receptive};
}

void zeros(Var& parameter) { constant(parameter, 0.0); }
void ones(Var& parameter) { constant(parameter, 1.0); }
void constant(Var& parameter, double value) {
    require_defined("init", parameter);
    parameter.copy_from(full(parameter.shape(), value, parameter.dtype()));
}

void normal(Var& parameter, Generator& generator, double mean, double std) {
    fill_normal("init::normal", parameter, generator, mean, std);
}

void uniform(Var& parameter, Generator& generator, double low, double high) {
    fill_uniform("init::uniform", parameter, generator, low, high);
}

void xavier_normal(Var& parameter, Generator& generator, double gain) {
    const auto [in, out] = fans(parameter);
    fill_normal("init::xavier_normal", parameter, generator, 0.0, gain * std::sqrt(2.0 / (in + out)));
}

void xavier_uniform(Var& parameter, Generator& generator, double gain) {
    const auto [in, out] = fans(parameter);
    const double bound = gain * std::sqrt(6.0 / (in + out));
    fill_uniform("init::xavier_uniform", parameter, generator, -bound, bound);
}

void kaiming_normal(Var& parameter, Generator& generator, Nonlinearity nonlinearity, FanMode mode,
                    double negative_slope) {
    const double std = calculate_gain(nonlinearity, negative_slope) / std::sqrt(fan(parameter, mode));
    fill_normal("init::kaiming_normal", parameter, generator, 0.0, std);
}

void kaiming_uniform(Var& parameter, Generator& generator, Nonlinearity nonlinearity, FanMode mode,
                     double negative_slope) {
    const double bound = calculate_gain(nonlinearity, negative_slope) * std::sqrt(3.0 / fan(parameter, mode));
    fill_uniform("init::kaiming_uniform", parameter, generator, -bound, bound);
}

}  // namespace xg::init
