#pragma once
// Parameter initialization, in place, from a caller-seeded generator: the same seed gives bit-identical
// parameters. Fans follow xgrad's (in, out) weight layout: fan_in = shape[0], fan_out = shape[1] (a 1-D
// parameter has fan_in = fan_out = its length).
#include <xgrad/random.hpp>
#include <xgrad/var.hpp>

namespace xg::init {

/// The activation that follows a layer, for the gains below.
enum class Nonlinearity { linear, sigmoid, tanh, relu, leaky_relu };
enum class FanMode { fan_in, fan_out };

/// PyTorch's recommended gains: 1 for linear and sigmoid, 5/3 for tanh, √2 for relu,
/// √(2 / (1 + negative_slope²)) for leaky_relu.
double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01);
/// (fan_in, fan_out) of a parameter.
std::pair<double, double> fans(const Var& parameter);

void zeros(Var& parameter);
void ones(Var& parameter);
void constant(Var& parameter, double value);
/// Normal(mean, std).
void normal(Var& parameter, Generator& generator, double mean = 0.0, double std = 1.0);
/// Uniform in [low, high).
void uniform(Var& parameter, Generator& generator, double low = 0.0, double high = 1.0);
/// Glorot: normal with std = gain·√(2 / (fan_in + fan_out)).
void xavier_normal(Var& parameter, Generator& generator, double gain = 1.0);
/// Glorot: uniform in ±gain·√(6 / (fan_in + fan_out)).
void xavier_uniform(Var& parameter, Generator& generator, double gain = 1.0);
/// He: normal with std = gain / √fan; std √(2/fan_in) (relu, fan_in) is the default. Std 1/√fan_in, which
/// some texts call "Xavier", is kaiming_normal(w, g, Nonlinearity::linear).
void kaiming_normal(Var& parameter, Generator& generator, Nonlinearity nonlinearity = Nonlinearity::relu,
                    FanMode mode = FanMode::fan_in, double negative_slope = 0.01);
/// He: uniform in ±gain·√(3 / fan).
void kaiming_uniform(Var& parameter, Generator& generator, Nonlinearity nonlinearity = Nonlinearity::relu,
                     FanMode mode = FanMode::fan_in, double negative_slope = 0.01);

}  // namespace xg::init
