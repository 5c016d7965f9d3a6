#pragma once
// Defining a primitive: an op that computes its value itself and says how its output gradient maps to its inputs'
// gradients (PyTorch's autograd::Function, Flashlight's gradFunc). Every op of the library is written with this
// header; docs/autograd.md shows a new one, step by step.
#include <xgrad/var.hpp>

#include <xtensor/xnoalias.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <variant>
#include <vector>

namespace xg {

/// A computed value of either dtype, before it becomes a Var.
using Tensor = std::variant<xt::xarray<float>, xt::xarray<double>>;

/// An uninitialised array of `shape` for an op's value (T float or double): memory that a freed node gave back on
/// this thread when it has as many elements, so a training step reuses the previous step's arrays; else new memory.
template <class T>
xt::xarray<T> uninitialized(const Shape& shape);
extern template xt::xarray<float> uninitialized<float>(const Shape& shape);
extern template xt::xarray<double> uninitialized<double>(const Shape& shape);

/// f applied to x's value, evaluated into a new array of x's dtype: f takes `const xt::xarray<T>&` and returns an
/// xtensor expression (`[](const auto& a) { return xt::log1p(xt::exp(a)); }`), written once for both dtypes.
template <class F>
Tensor map_value(const Var& x, F&& f) {
    return x.visit_value([&](const auto& a) -> Tensor {
        using Array = std::decay_t<decltype(a)>;
        Array result = uninitialized<typename Array::value_type>(a.shape());
        xt::noalias(result) = f(a);
        return result;
    });
}

/// The values an op's vector-Jacobian product reads besides the output gradient (PyTorch's save_for_backward). The
/// graph keeps a value only while a VJP that saved it, or a Var of the user's, needs it: a value nobody else holds
/// is freed as soon as the forward moves past it. An op that says nothing saves its inputs and its output.
struct Saved {
    std::uint64_t inputs = ~std::uint64_t{0};  // bit i: input i's value (inputs past the 64th count as saved)
    bool output = true;

    /// Only the gradient and the inputs' shapes (add, sum, reshape, …).
    static Saved nothing() { return {0, false}; }
    /// The output's value (exp, sigmoid, relu, …).
    static Saved only_output() { return {0, true}; }
    /// These inputs' values (mul, matmul, log, …).
    static Saved only_inputs(std::initializer_list<std::size_t> which) {
        Saved saved{0, false};
        for (std::size_t i : which) saved.inputs |= std::uint64_t{1} << i;
        return saved;
    }
    /// These and the output's (div: input 1 and the output).
    Saved with_output() const { return {inputs, true}; }
    bool input(std::size_t i) const { return i >= 64 || (inputs >> i & 1) != 0; }
};

struct Sweep;  // how the running backward sweep was asked to run (lib/autograd)

/// What a vector-Jacobian product sees while backward runs: the gradient of the output, the op's inputs and output,
/// and where to add each input's gradient.
class Backward {
public:
    /// Gradient of the loss with respect to this op's output (same shape and dtype as the output).
    const Var& grad;
    /// Input i as passed to record(), for building gradients with differentiable ops. It, output() and input_value()
    /// throw Error unless record() saved that value (Saved).
    Var input(std::size_t i) const;
    Var output() const;
    /// Input i's value, without making a Var of it.
    const Tensor& input_value(std::size_t i) const;
    /// Input i's shape, which the graph keeps whether or not the value was saved.
    const Shape& input_shape(std::size_t i) const;
    /// Whether input i needs a gradient at all: skip the work when it does not.
    bool needs(std::size_t i) const;
    /// True when this backward pass is itself recorded (create_graph): gradients must then be built only from
    /// differentiable ops on grad, input() and output(), not from values computed on the side.
    bool create_graph() const;
    /// Adds g to input i's gradient. A g with broadcast dimensions is summed back to the input's shape, and a g
    /// of the other dtype is converted to the input's, as PyTorch does.
    void add(std::size_t i, Var g);
    /// Adds op(a)·op(b) to input i's gradient, where op transposes when its flag is set (both 2-d). Into a
    /// parameter's .grad of that shape it is one GEMM with beta = 1: no temporary the size of the weight matrix.
    void add_product(std::size_t i, const Var& a, const Var& b, bool transpose_a, bool transpose_b);

    /// Made by the engine for each recorded op it reaches.
    Backward(const Var& grad, const std::shared_ptr<Node>& node, const Sweep& sweep)
        : grad(grad), node_(node), sweep_(sweep) {}

private:
    const Node& input_node(std::size_t i) const;
    const Node& saved_input_node(std::size_t i) const;

    const std::shared_ptr<Node>& node_;
    const Sweep& sweep_;
};

/// A vector-Jacobian product: reads backward.grad and adds each input's gradient with backward.add.
using Vjp = std::function<void(Backward& backward)>;

/// Makes `value` the output of primitive `op` applied to `inputs`. When grad mode is on and some input requires
/// grad, the op is recorded on this thread's tape with `vjp`, which backward calls once the output's gradient is
/// complete; otherwise the result is a plain leaf and `vjp` is dropped. Under anomaly mode the value is checked
/// for NaN and Inf. `op` names the op in errors, printing and to_dot: give a string literal (it is kept, not
/// copied). `saved` says which values `vjp` reads. Inputs must be defined (Error otherwise, naming op and input).
Var record(const char* op, Tensor value, std::initializer_list<Var> inputs, Vjp vjp, Saved saved = {});
Var record(const char* op, Tensor value, const std::vector<Var>& inputs, Vjp vjp, Saved saved = {});

}  // namespace xg
