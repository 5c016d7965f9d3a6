#pragma once
// Internals of the graph: the node behind every Var, the per-thread tape, and the helpers every op uses to
// compute its value and record its vector-Jacobian product.
#include "support/checks.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/var.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace xg {

using Tensor = std::variant<xt::xarray<float>, xt::xarray<double>>;

class Backward;
/// A vector-Jacobian product: reads the output gradient from the Backward and adds each input's gradient.
using Vjp = std::function<void(Backward&)>;

struct Tape;

struct Node {
    Tensor value;
    Var grad;     // leaves: the accumulated .grad
    Var pending;  // gradient flowing into this node during a backward sweep
    // Holds the node while it has a pending gradient: backward frees consumers' inputs as it goes, and a node
    // whose gradient has arrived must live until the sweep reaches it.
    std::shared_ptr<Node> keep_alive;
    std::vector<std::shared_ptr<Node>> inputs;
    Vjp vjp;
    const char* op = nullptr;  // nullptr for leaves
    std::string name;
    std::uint64_t seq = 0;  // position in creation order on its tape
    // The tape it was recorded on, by id: a finished thread's tape may be freed and a new thread's tape built at
    // the same address, so an address would not tell them apart.
    std::uint64_t tape_id = 0;
    bool requires_grad = false;
    bool released = false;  // backward already freed what the vjp needs
    bool capture = false;   // xg::grad wants this node's gradient

    Node() = default;
    explicit Node(Tensor v) : value(std::move(v)) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    // A chain of 100,000 ops must not free itself recursively.
    ~Node();
};

struct TapeEntry {
    std::uint64_t seq;
    std::weak_ptr<Node> node;
};

/// Ops recorded on one thread, in creation order. It holds no ownership: the graph is owned by the outputs
/// (each node owns its inputs), so dropping a loss frees its graph and the tape only forgets dead entries.
struct Tape {
    Tape();
    const std::uint64_t id;  // unique for the process's life, never reused
    std::vector<TapeEntry> entries;
    std::uint64_t next_seq = 1;
    std::size_t compact_at = 1024;
    // Sweeps walking `entries` by index: compacting would move entries under them, so it waits.
    std::size_t sweeps_running = 0;

    void record(const std::shared_ptr<Node>& node);
    void compact();
};

Tape& this_thread_tape();

/// What a vjp sees: the output gradient, the op's inputs and output, and where to add input gradients.
class Backward {
public:
    Backward(const Var& grad, const std::shared_ptr<Node>& node, bool create_graph)
        : grad(grad), node_(node), create_graph_(create_graph) {}

    /// Gradient of the loss with respect to this op's output.
    const Var& grad;
    Var input(std::size_t i) const { return Var(node_->inputs[i]); }
    Var output() const { return Var(node_); }
    const Tensor& input_value(std::size_t i) const { return node_->inputs[i]->value; }
    /// Whether input i needs a gradient at all (skip the work otherwise).
    bool needs(std::size_t i) const { return node_->inputs[i]->requires_grad; }
    /// True when the backward pass is itself being recorded: a vjp must then build its result only from
    /// differentiable ops on input()/output(), not from cached constants.
    bool create_graph() const { return create_graph_; }
    /// Adds g to input i's gradient, first summing broadcast dimensions back to the input's shape.
    void add(std::size_t i, Var g);
    /// When input i is a leaf that already has a .grad of its own shape and dtype (and the sweep is neither
    /// recording nor checking anomalies), that gradient's array: a vjp may add its result straight into it
    /// (GEMM with beta = 1) instead of calling add(). Otherwise nullptr.
    Tensor* leaf_grad(std::size_t i) const;

private:
    std::shared_ptr<Node> node_;
    bool create_graph_;
};

/// Wraps a computed value as the result of `op`: recorded with `vjp` when grad mode is on and some input
/// requires grad, otherwise a plain leaf. Checks the value for NaN/Inf under anomaly mode.
Var record(const char* op, Tensor value, std::initializer_list<Var> inputs, Vjp vjp);
Var record(const char* op, Tensor value, const std::vector<Var>& inputs, Vjp vjp);
/// A constant leaf holding `value`.
Var constant(Tensor value);

const Tensor& tensor_of(const Var& x);
Tensor& mutable_tensor_of(const Var& x);
Dtype dtype_of_tensor(const Tensor& t);
const Shape& shape_of_tensor(const Tensor& t);
/// Throws AnomalyError naming `what` if t has a NaN or Inf.
void check_finite(const Tensor& t, const std::string& what);

/// Runs f(xarray<T>&) on the tensor's array, whatever its dtype.
template <class F>
decltype(auto) visit(const Tensor& t, F&& f) {
    return std::visit(std::forward<F>(f), t);
}
template <class F>
decltype(auto) visit(Tensor& t, F&& f) {
    return std::visit(std::forward<F>(f), t);
}

/// An uninitialised array of the given shape and element type.
template <class T>
xt::xarray<T> empty_array(const Shape& shape) {
    return xt::xarray<T>::from_shape(shape);
}

/// A tensor of the given dtype filled with `value`.
Tensor filled(Dtype dtype, const Shape& shape, double value);

/// The elements in order, as doubles (for metrics and plots, which count in double whatever the dtype).
inline std::vector<double> doubles_of(const Tensor& t) {
    return visit(t, [](const auto& a) { return std::vector<double>(a.begin(), a.end()); });
}

/// Maps `axis` (negative counts from the end) to [0, rank), or throws ShapeError naming op and shape.
std::size_t normalize_axis(const char* op, std::ptrdiff_t axis, const Shape& shape);

/// A contiguous array seen as (outer, n, inner) around one axis, the layout reductions loop over.
struct AxisSplit {
    std::size_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::size_t axis);

/// Shape of a reduction over `axis`, keeping a 1 there if keepdims.
Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims);

}  // namespace xg
