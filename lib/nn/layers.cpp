// The layers of xg::nn; each forward is made of differentiable ops, so their gradients come from the tape.
#include <xgrad/errors.hpp>
#include <xgrad/init.hpp>
#include <xgrad/nn.hpp>

#include "support/checks.hpp"

#include <fmt/core.h>

#include <cmath>
#include <limits>

namespace xg::nn {

Linear::Linear(std::size_t in_features, std::size_t out_features, Generator& generator, bool with_bias,
               Dtype dtype) {
    if (in_features == 0 || out_features == 0)
        throw ShapeError(fmt::format("Linear: in_features and out_features must be positive, got {} and {}",
                                     in_features, out_features));
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    weight = register_parameter("weight", rand({in_features, out_features}, generator, dtype, -bound, bound));
    if (with_bias) bias = register_parameter("bias", rand({out_features}, generator, dtype, -bound, bound));
}

Var Linear::forward(const Var& input) {
    return bias.defined() ? affine(input, weight, bias) : matmul(input, weight);
}

std::string Linear::description() const {
    return fmt::format("Linear(in={}, out={}{})", weight.shape()[0], weight.shape()[1],
                       bias.defined() ? "" : ", bias=false");
}

namespace {

// "MaxPool2d(kernel=(2, 2), stride=(2, 2))": padding only when there is some, as Conv2d's description does.
std::string pool_description(const char* module, const Size2& kernel_size, const Size2& stride, const Size2& padding) {
    return fmt::format("{}(kernel={}, stride={}{})", module, to_string(kernel_size), to_string(stride),
                       padding == Size2{0, 0} ? "" : ", padding=" + to_string(padding));
}

}  // namespace

Conv2d::Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& generator,
               Conv2dOptions options, bool with_bias, Dtype dtype)
    : options_(options) {
    if (in_channels == 0 || out_channels == 0)
        throw ShapeError(fmt::format("Conv2d: in_channels and out_channels must be positive, got {} and {}",
                                     in_channels, out_channels));
    if (kernel_size[0] == 0 || kernel_size[1] == 0)
        throw ShapeError(fmt::format("Conv2d: kernel {} must be positive", to_string(kernel_size)));
    require_stride_and_dilation("Conv2d", options);
    if (options.groups == 0 || in_channels % options.groups != 0 || out_channels % options.groups != 0)
        throw ShapeError(fmt::format("Conv2d: in_channels {} and out_channels {} must be divisible by groups {}",
                                     in_channels, out_channels, options.groups));
    const std::size_t fan_in = in_channels / options.groups * kernel_size[0] * kernel_size[1];
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    weight = register_parameter(
        "weight", rand({out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]}, generator,
                       dtype, -bound, bound));
    if (with_bias) bias = register_parameter("bias", rand({out_channels}, generator, dtype, -bound, bound));
}

std::string Conv2d::description() const {
    const Shape& w = weight.shape();
    std::string settings = fmt::format("kernel=({}, {}), stride={}", w[2], w[3], to_string(options_.stride));
    // Like PyTorch's repr, the other settings only when they are not the defaults.
    if (options_.padding != Size2{0, 0}) settings += ", padding=" + to_string(options_.padding);
    if (options_.dilation != Size2{1, 1}) settings += ", dilation=" + to_string(options_.dilation);
    if (options_.groups != 1) settings += fmt::format(", groups={}", options_.groups);
    if (!bias.defined()) settings += ", bias=false";
    return fmt::format("Conv2d({}, {}, {})", w[1] * options_.groups, w[0], settings);
}

MaxPool2d::MaxPool2d(Size2 kernel_size, Size2 stride, Size2 padding)
    : kernel_size_(kernel_size), stride_(stride), padding_(padding) {
    require_pool_settings("MaxPool2d", kernel_size, stride, padding);
}

std::string MaxPool2d::description() const {
    return pool_description("MaxPool2d", kernel_size_, stride_, padding_);
}

AvgPool2d::AvgPool2d(Size2 kernel_size, Size2 stride, Size2 padding)
    : kernel_size_(kernel_size), stride_(stride), padding_(padding) {
    require_pool_settings("AvgPool2d", kernel_size, stride, padding);
}

std::string AvgPool2d::description() const {
    return pool_description("AvgPool2d", kernel_size_, stride_, padding_);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size) : output_size_(output_size) {
    if (output_size[0] == 0 || output_size[1] == 0)
        throw ShapeError(fmt::format("AdaptiveAvgPool2d: output_size {} must be positive", to_string(output_size)));
}

std::string AdaptiveAvgPool2d::description() const {
    return fmt::format("AdaptiveAvgPool2d(output_size={})", to_string(output_size_));
}

std::string LeakyReLU::description() const { return fmt::format("LeakyReLU(negative_slope={})", negative_slope_); }

std::string Softmax::description() const { return fmt::format("Softmax(axis={})", axis_); }

Var Flatten::forward(const Var& input) {
    if (input.dim() == 0) throw ShapeError("Flatten: input must have a batch axis, got a scalar");
    return reshape(input, {static_cast<std::ptrdiff_t>(input.shape()[0]), -1});
}

Dropout::Dropout(double p, Generator& generator)
    : p_(p), generator_(generator.below(std::numeric_limits<std::uint64_t>::max())) {
    if (!(p >= 0.0 && p <= 1.0)) throw Error(fmt::format("Dropout: probability p must be in [0, 1], got {}", p));
}

std::string Dropout::description() const { return fmt::format("Dropout(p={})", p_); }

BatchNorm1d::BatchNorm1d(std::size_t num_features, double eps, double momentum, Dtype dtype)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
    if (num_features == 0) throw ShapeError("BatchNorm1d: num_features must be positive");
    if (!(eps > 0.0)) throw Error(fmt::format("BatchNorm1d: eps must be positive, got {}", eps));
    if (!(momentum >= 0.0 && momentum <= 1.0))
        throw Error(fmt::format("BatchNorm1d: momentum must be in [0, 1], got {}", momentum));
    weight = register_parameter("weight", ones({num_features}, dtype));
    bias = register_parameter("bias", zeros({num_features}, dtype));
    running_mean = register_buffer("running_mean", zeros({num_features}, dtype));
    running_var = register_buffer("running_var", ones({num_features}, dtype));
}

Var BatchNorm1d::forward(const Var& input) {
    if (input.dim() != 2 || input.shape()[1] != num_features_)
        throw ShapeError(fmt::format("BatchNorm1d: expected input of shape (batch, {}), got {}", num_features_,
                                     to_string(input.shape())));
    if (!is_training()) return (input - running_mean) / sqrt(running_var + eps_) * weight + bias;

    const std::size_t n = input.shape()[0];
    if (n < 2)
        throw ShapeError(fmt::format("BatchNorm1d: training needs more than one sample per batch, got input {}",
                                     to_string(input.shape())));
    Var batch_mean = mean(input, 0);
    Var centered = input - batch_mean;
    Var batch_var = mean(centered * centered, 0);
    Var output = centered / sqrt(batch_var + eps_) * weight + bias;

    // running ← (1 − momentum)·running + momentum·batch, the variance unbiased (n / (n − 1)).
    const double unbiased = static_cast<double>(n) / static_cast<double>(n - 1);
    // One loop per buffer, in double, rather than four ops: it runs every training step.
    const auto update = [&](Var& running, const Var& batch, double scale) {
        running.visit_mutable_value([&](auto& r) {
            using T = typename std::decay_t<decltype(r)>::value_type;
            batch.visit_value([&](const auto& b) {
                for (std::size_t i = 0; i < num_features_; ++i)
                    r.data()[i] = static_cast<T>((1.0 - momentum_) * r.data()[i] + momentum_ * scale * b.data()[i]);
            });
        });
    };
    update(running_mean, batch_mean, 1.0);
    update(running_var, batch_var, unbiased);
    return output;
}

std::string BatchNorm1d::description() const {
    return fmt::format("BatchNorm1d({}, eps={}, momentum={})", num_features_, eps_, momentum_);
}

}  // namespace xg::nn
