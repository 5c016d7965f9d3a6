#pragma once
// xg::Var: a value (an xtensor array, float32 or float64) that remembers how it was computed.
// First: it refuses flags under which xt::xarray would not be the type libxgrad was compiled with.
#include <xgrad/config.hpp>
#include <xtensor/xarray.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace xg {

enum class Dtype { float32, float64 };

/// "float32" or "float64".
const char* dtype_name(Dtype dtype);

/// The dtype that holds values of type T (float or double).
template <class T>
constexpr Dtype dtype_of();
template <>
constexpr Dtype dtype_of<float>() { return Dtype::float32; }
template <>
constexpr Dtype dtype_of<double>() { return Dtype::float64; }

/// An array shape, the same type xt::xarray uses.
using Shape = xt::svector<std::size_t, 4>;

/// "(2, 3)", the way error messages and printing show shapes.
std::string to_string(const Shape& shape);

struct Node;  // defined in lib/; users never touch it

/// A handle to a node of the computation graph. Copies share the node (like torch::Tensor).
///
/// A leaf is a variable the user made (inputs, parameters); every op on variables makes a new node, and when
/// grad mode is on and some input requires grad, the op is recorded on this thread's tape so that
/// `backward` can compute gradients of the leaves.
class Var {
public:
    /// An undefined variable (like an empty torch::Tensor); `defined()` is false.
    Var() = default;
    explicit Var(xt::xarray<float> value, bool requires_grad = false);
    explicit Var(xt::xarray<double> value, bool requires_grad = false);
    /// A scalar (0-d) variable.
    explicit Var(double value, bool requires_grad = false, Dtype dtype = Dtype::float64);

    Var(const Var&) = default;
    Var(Var&&) noexcept = default;
    Var& operator=(const Var& other) {
        if (node_ != other.node_) {
            if (node_.use_count() > 1) free_value_if_unneeded();
            node_ = other.node_;
        }
        return *this;
    }
    Var& operator=(Var&& other) noexcept {
        if (node_ != other.node_) {
            if (node_.use_count() > 1) free_value_if_unneeded();
            node_ = std::move(other.node_);
        }
        return *this;
    }
    /// As its last handle goes, a value recorded in a graph whose backward does not read it is freed (Saved in
    /// <xgrad/primitive.hpp>): the graph keeps only what its VJPs need. A node no graph holds simply dies.
    ~Var() {
        if (node_.use_count() > 1) free_value_if_unneeded();
    }

    bool defined() const { return node_ != nullptr; }
    Dtype dtype() const;
    const Shape& shape() const;
    std::size_t dim() const;
    std::size_t size() const;

    /// The value; throws DtypeError if T does not match dtype().
    template <class T>
    const xt::xarray<T>& value() const;
    /// The value for in-place changes (optimizer updates, initialization). Changing a value that a recorded
    /// graph still needs for its backward makes that backward wrong: do it after backward, under NoGradGuard.
    template <class T>
    xt::xarray<T>& mutable_value();
    /// Calls f with the value as the array it is, `const xt::xarray<float>&` or `const xt::xarray<double>&`, and
    /// returns what f returns (the same type for both): code written once for either dtype, as PyTorch's
    /// AT_DISPATCH_FLOATING_TYPES.
    template <class F>
    decltype(auto) visit_value(F&& f) const {
        if (dtype() == Dtype::float32) return std::forward<F>(f)(value<float>());
        return std::forward<F>(f)(value<double>());
    }
    /// visit_value for in-place changes: f gets `xt::xarray<T>&`, with mutable_value's caveats.
    template <class F>
    decltype(auto) visit_mutable_value(F&& f) {
        if (dtype() == Dtype::float32) return std::forward<F>(f)(mutable_value<float>());
        return std::forward<F>(f)(mutable_value<double>());
    }
    /// The elements in row-major order, converted to T (metrics and plots count in double whatever the dtype).
    template <class T>
    std::vector<T> to_vector() const {
        return visit_value([](const auto& a) { return std::vector<T>(a.begin(), a.end()); });
    }
    /// The single element of a one-element variable, as double.
    double item() const;
    /// Entry i along the first axis, that axis removed: x[i][j].item() reads one element of a matrix. Differentiable
    /// (it is xg::select(x, 0, i)); a negative i counts from the end, as in PyTorch.
    Var operator[](std::ptrdiff_t i) const;

    bool requires_grad() const;
    /// Marks a leaf as a parameter whose gradient backward should compute. Throws GraphError on non-leaves.
    Var& set_requires_grad(bool requires_grad = true);
    /// True for variables made by the user (not by an op).
    bool is_leaf() const;
    /// The op that made this variable ("mul", "matmul", ...) or "leaf".
    const char* op() const;

    /// The gradient accumulated by backward (undefined until the first backward reaches this leaf).
    Var grad() const;
    /// Sets the accumulated gradient to zeros (keeping its memory) if there is one.
    void zero_grad();
    /// Drops the accumulated gradient entirely.
    void clear_grad();

    /// A new leaf with a copy of the value, cut off from the graph.
    Var detach() const;
    /// Overwrites this leaf's values, in place, with `source`'s (same shape; the dtype is converted), like
    /// PyTorch's copy_ under no_grad: for restoring parameters and buffers. Records nothing. The result of an op
    /// cannot be overwritten (GraphError); a graph that saved this leaf's value sees the new one.
    Var& copy_from(const Var& source);
    /// Replaces this leaf's value with a copy of `source`'s, whose shape and dtype may differ (PyTorch's set_data):
    /// every handle to this leaf sees the new value, which is how Module::to converts parameters in place. The
    /// .grad is left as it was; the result of an op cannot be replaced (GraphError).
    Var& set_data(const Var& source);
    /// This variable converted to `dtype` (differentiable; returns *this when the dtype already matches).
    Var to(Dtype dtype) const;

    /// Whether both handles share one node (PyTorch's is_same): the identity parameters are matched by.
    bool is_same(const Var& other) const { return node_ == other.node_; }
    /// How many handles share this node; 1 when this is the only one.
    long use_count() const { return node_.use_count(); }

    /// An optional name shown by to_dot and gradcheck reports.
    const std::string& name() const;
    Var& set_name(std::string name);

    /// Same as xg::backward(*this, output_gradient, {retain_graph, create_graph}).
    void backward(const Var& output_gradient = Var(), bool retain_graph = false, bool create_graph = false) const;

    /// Internal: the node behind this handle.
    explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}
    const std::shared_ptr<Node>& node() const { return node_; }

private:
    void free_value_if_unneeded() noexcept;

    std::shared_ptr<Node> node_;
};

/// Names and what they name, in order: named_parameters() gives {("fc1.weight", W), ...}.
template <class T>
using Named = std::vector<std::pair<std::string, T>>;

/// A zero, one or `value` filled leaf of the given shape.
Var zeros(const Shape& shape, Dtype dtype = Dtype::float32);
Var ones(const Shape& shape, Dtype dtype = Dtype::float32);
Var full(const Shape& shape, double value, Dtype dtype = Dtype::float32);
Var zeros_like(const Var& x);
Var ones_like(const Var& x);

/// Sets how many threads xgrad uses (PyTorch's torch::set_num_threads): fit splits each batch across them
/// (parallel_backward), and a large matrix product elsewhere is split by rows. OpenBLAS itself runs on one thread.
/// Throws Error unless threads ≥ 1.
void set_num_threads(int threads);
/// The threads xgrad uses: set_num_threads's, else $XGRAD_NUM_THREADS, else the cores this process may run on.
int num_threads();

}  // namespace xg
