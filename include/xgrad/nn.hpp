#pragma once
// Modules: parameters and the forward computation that uses them, in the shape of PyTorch's C++ frontend.
// A module's gradient is whatever backward derives from the ops its forward records; none has a backward of
// its own.
#include <xgrad/ops.hpp>
#include <xgrad/random.hpp>
#include <xgrad/var.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace xg::nn {

/// Base of every layer and model. A subclass registers its parameters, buffers and child modules in its
/// constructor and overrides forward. Copies of a module share its parameters (the Vars are handles).
class Module {
public:
    virtual ~Module() = default;

    /// The computation. Call the module through operator(), which is what summary() sees.
    virtual Var forward(const Var& input) = 0;
    Var operator()(const Var& input);

    /// "Linear(in=784, out=50)": the type and its settings, as summary() shows them.
    virtual std::string description() const;

    /// Every parameter of this module and its children, depth first, in registration order.
    std::vector<Var> parameters() const;
    /// The same with dotted paths: "weight" for our own, "fc1.weight" for a child's.
    Named<Var> named_parameters() const;
    /// Arrays that are state but not parameters (BatchNorm's running statistics), named like parameters.
    Named<Var> named_buffers() const;
    /// Direct children in registration order.
    const Named<std::shared_ptr<Module>>& children() const { return children_; }
    /// This module ("") and every descendant, with their paths.
    Named<Module*> named_modules();

    /// Training mode (the default) or evaluation mode, for this module and all its children: Dropout and
    /// BatchNorm behave differently in each.
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    /// Zeroes the gradient of every parameter.
    void zero_grad();
    /// Converts every parameter and buffer of this module and its children to `dtype`, in place (the handles
    /// modules and users hold stay valid), with any accumulated gradient, like PyTorch's Module::to. Build the
    /// optimizer after converting: one built before keeps state in the old dtype.
    void to(Dtype dtype);

protected:
    /// Registers a parameter (made to require grad) and returns it.
    Var register_parameter(std::string name, Var parameter);
    /// Registers a buffer (saved in checkpoints, not trained) and returns it.
    Var register_buffer(std::string name, Var buffer);
    /// Registers a child module and returns the shared handle the parent keeps.
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        add_child(std::move(name), module);
        return module;
    }
    template <class M, class = std::enable_if_t<std::is_base_of_v<Module, std::decay_t<M>>>>
    std::shared_ptr<std::decay_t<M>> register_module(std::string name, M&& module) {
        return register_module(std::move(name), std::make_shared<std::decay_t<M>>(std::forward<M>(module)));
    }

private:
    void add_child(std::string name, std::shared_ptr<Module> module);
    void check_new_name(const std::string& name) const;

    Named<Var> parameters_;
    Named<Var> buffers_;
    Named<std::shared_ptr<Module>> children_;
    bool training_ = true;
};

/// Modules applied one after another; children are named "0", "1", ...
class Sequential : public Module {
public:
    Sequential() = default;
    template <class... Ms>
        requires(!(sizeof...(Ms) == 1 && (std::is_same_v<std::decay_t<Ms>, Sequential> && ...)))  // not a copy
    explicit Sequential(Ms&&... modules) {
        (push_back(std::forward<Ms>(modules)), ...);
    }
    template <class M>
    void push_back(M&& module) {
        register_module(std::to_string(children().size()), std::forward<M>(module));
    }
    std::size_t size() const { return children().size(); }
    /// The i-th module.
    Module& operator[](std::size_t i) const;

    Var forward(const Var& input) override;
    std::string description() const override { return "Sequential"; }
};

/// A module made from a function, for steps that have no parameters: Functional([](const Var& x) {...}).
class Functional : public Module {
public:
    explicit Functional(std::function<Var(const Var&)> function, std::string name = "Functional");
    Var forward(const Var& input) override { return function_(input); }
    std::string description() const override { return name_; }

private:
    std::function<Var(const Var&)> function_;
    std::string name_;
};

/// y = x·W + b with W of shape (in, out). Weight and bias start uniform in
/// [−1/√in, 1/√in), as in PyTorch; use xg::init to start them otherwise.
class Linear : public Module {
public:
    Linear(std::size_t in_features, std::size_t out_features, Generator& generator, bool bias = true,
           Dtype dtype = Dtype::float32);
    Var forward(const Var& input) override;
    std::string description() const override;

    Var weight;  // (in, out)
    Var bias;    // (out,), undefined without bias
};

/// 2-D convolution of (N, in_channels, H, W) inputs: conv2d(x, weight, bias, options), like torch.nn.Conv2d.
/// Weight and bias start uniform in [−1/√fan_in, 1/√fan_in) with fan_in = in_channels / groups · kH · kW, which
/// is what PyTorch's kaiming_uniform(a = √5) start works out to.
class Conv2d : public Module {
public:
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& generator,
           Conv2dOptions options = {}, bool bias = true, Dtype dtype = Dtype::float32);
    Var forward(const Var& input) override { return conv2d(input, weight, bias, options_); }
    std::string description() const override;

    Var weight;  // (out_channels, in_channels / groups, kH, kW)
    Var bias;    // (out_channels,), undefined without bias

private:
    Conv2dOptions options_;
};

/// max_pool2d as a module; the stride defaults to the kernel, as in torch.nn.MaxPool2d.
class MaxPool2d : public Module {
public:
    explicit MaxPool2d(Size2 kernel_size) : MaxPool2d(kernel_size, kernel_size) {}
    MaxPool2d(Size2 kernel_size, Size2 stride, Size2 padding = {0, 0});
    Var forward(const Var& input) override { return max_pool2d(input, kernel_size_, stride_, padding_); }
    std::string description() const override;

private:
    Size2 kernel_size_, stride_, padding_;
};

/// avg_pool2d as a module (padding counts in the divisor); the stride defaults to the kernel.
class AvgPool2d : public Module {
public:
    explicit AvgPool2d(Size2 kernel_size) : AvgPool2d(kernel_size, kernel_size) {}
    AvgPool2d(Size2 kernel_size, Size2 stride, Size2 padding = {0, 0});
    Var forward(const Var& input) override { return avg_pool2d(input, kernel_size_, stride_, padding_); }
    std::string description() const override;

private:
    Size2 kernel_size_, stride_, padding_;
};

/// adaptive_avg_pool2d as a module: (N, C, H, W) → (N, C, output_size); {1, 1} is global average pooling.
class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size);
    Var forward(const Var& input) override { return adaptive_avg_pool2d(input, output_size_); }
    std::string description() const override;

private:
    Size2 output_size_;
};

class Sigmoid : public Module {
public:
    Var forward(const Var& input) override { return sigmoid(input); }
    std::string description() const override { return "Sigmoid"; }
};

class Tanh : public Module {
public:
    Var forward(const Var& input) override { return tanh(input); }
    std::string description() const override { return "Tanh"; }
};

class ReLU : public Module {
public:
    Var forward(const Var& input) override { return relu(input); }
    std::string description() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
    Var forward(const Var& input) override { return leaky_relu(input, negative_slope_); }
    std::string description() const override;

private:
    double negative_slope_;
};

class Softmax : public Module {
public:
    explicit Softmax(std::ptrdiff_t axis = -1) : axis_(axis) {}
    Var forward(const Var& input) override { return softmax(input, axis_); }
    std::string description() const override;

private:
    std::ptrdiff_t axis_;
};

/// (N, d1, d2, ...) → (N, d1·d2·...).
class Flatten : public Module {
public:
    Var forward(const Var& input) override;
    std::string description() const override { return "Flatten"; }
};

/// Inverted dropout: in training, zeroes each element with probability p and scales the others by
/// 1/(1 − p), so the expected value is unchanged; the identity in eval mode. Its random stream is forked
/// from `generator` at construction.
class Dropout : public Module {
public:
    Dropout(double p, Generator& generator);
    Var forward(const Var& input) override { return dropout(input, p_, generator_, is_training()); }
    std::string description() const override;
    double p() const { return p_; }

private:
    double p_;
    Generator generator_;
};

/// Batch normalization over the batch axis of (N, features) inputs:
/// y = (x − μ) / √(σ² + eps) · γ + β with learnable γ (starts at 1) and β (starts at 0). Training uses the
/// batch's mean and (biased) variance and updates the running statistics,
/// running = (1 − momentum)·running + momentum·batch (variance unbiased, as in PyTorch); eval uses them.
class BatchNorm1d : public Module {
public:
    explicit BatchNorm1d(std::size_t num_features, double eps = 1e-5, double momentum = 0.1,
                         Dtype dtype = Dtype::float32);
    Var forward(const Var& input) override;
    std::string description() const override;

    Var weight;        // γ, (features,)
    Var bias;          // β, (features,)
    Var running_mean;  // buffer, starts at 0
    Var running_var;   // buffer, starts at 1

private:
    std::size_t num_features_;
    double eps_, momentum_;
};

/// softmax_cross_entropy as a module: softmax_cross_entropy(logits, classes or target rows).
struct SoftmaxCrossEntropyLoss {
    Var operator()(const Var& logits, const std::vector<std::size_t>& classes) const {
        return softmax_cross_entropy(logits, classes);
    }
    Var operator()(const Var& logits, const Var& targets) const { return softmax_cross_entropy(logits, targets); }
};

struct BinaryCrossEntropyWithLogitsLoss {
    Var operator()(const Var& logits, const Var& targets) const {
        return binary_cross_entropy_with_logits(logits, targets);
    }
};

struct MSELoss {
    Var operator()(const Var& prediction, const Var& target) const { return mse(prediction, target); }
};

/// A table of the modules a forward pass of `input_shape` goes through, with their output shapes and
/// parameter counts, and the totals (like torchinfo's summary). Runs the model once in eval mode without
/// recording, then restores its mode.
std::string summary(Module& model, const Shape& input_shape, Dtype dtype = Dtype::float32);

}  // namespace xg::nn
