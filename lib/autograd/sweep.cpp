// The backward sweep: runs the tape in reverse from an output, handing each op's vjp its output gradient and the
// sweep's mode, and gathers what the vjps hand on into intermediate and leaf gradients.
#include "autograd/node.hpp"
#include "ops/blas.hpp"
#include "ops/kernels.hpp"
#include "support/thread_pool.hpp"

#include <xtensor/xnoalias.hpp>

#include <algorithm>

namespace xg {

namespace {

// A gradient we may add into in place: nobody else holds it and it is not itself part of a graph.
bool exclusively_ours(const Var& g) { return g.node().use_count() == 1 && !g.node()->requires_grad; }

void add_in_place(Var& into, const Var& g) {
    visit(mutable_tensor_of(into), [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        xt::noalias(a) += std::get<A>(tensor_of(g));
    });
}

// Sums `g` into `slot` (an undefined slot takes g as it is).
void accumulate(const Sweep& sweep, Var& slot, Var g) {
    if (!slot.defined()) {
        slot = std::move(g);
    } else if (!sweep.create_graph && exclusively_ours(slot)) {
        add_in_place(slot, g);
    } else {
        slot = add(slot, g);
    }
}

// The slot of `leaf` among a parallel part's gradients; a slot left by a dead node at the same address starts over.
LeafGradients::Slot& slot_of(LeafGradients& gradients, const std::shared_ptr<Node>& leaf) {
    LeafGradients::Slot& slot = gradients.slots[leaf.get()];
    if (slot.leaf.lock() != leaf) slot = {leaf, Var(), false};
    return slot;
}

// A leaf's gradient: into its .grad, into `pending` for xg::grad when that asked for this leaf, or into the running
// parallel part's own arrays.
void accumulate_leaf(const Sweep& sweep, const std::shared_ptr<Node>& node, Var g) {
    Node& leaf = *node;
    if (sweep.leaves == Sweep::Leaves::capture) {
        if (leaf.capture) accumulate(sweep, leaf.pending, std::move(g));
    } else if (LeafGradients::redirect) {
        LeafGradients::Slot& slot = slot_of(*LeafGradients::redirect, node);
        if (slot.written) {
            accumulate(sweep, slot.grad, std::move(g));
        } else {
            slot.grad = (sweep.create_graph || exclusively_ours(g)) ? std::move(g) : g.detach();
            slot.written = true;
        }
    } else if (!leaf.grad.defined()) {
        // .grad outlives this sweep and is updated in place later, so it must not share g's node.
        leaf.grad = (sweep.create_graph || exclusively_ours(g)) ? std::move(g) : g.detach();
    } else if (!sweep.create_graph && !leaf.grad.requires_grad()) {
        add_in_place(leaf.grad, g);
    } else {
        leaf.grad = add(leaf.grad, g);
    }
}

// Where add_product can put its product straight from the GEMM: a leaf's .grad (adding to it) or the parallel
// part's array from an earlier step (overwriting it the first time this step).
struct ProductTarget {
    Tensor* array = nullptr;
    bool overwrite = false;
    LeafGradients::Slot* slot = nullptr;  // marked written once the product is in
};

bool reusable(const Var& grad, const Tensor& value) {
    return grad.defined() && !grad.requires_grad() && tensor_of(grad).index() == value.index() &&
           grad.shape() == shape_of_tensor(value);
}

ProductTarget product_target(const std::shared_ptr<Node>& node, const Sweep& sweep) {
    Node& input = *node;
    if (input.op != nullptr || !input.requires_grad || sweep.leaves != Sweep::Leaves::accumulate ||
        sweep.create_graph || sweep.check_anomalies)
        return {};
    if (LeafGradients::redirect) {
        LeafGradients::Slot& slot = slot_of(*LeafGradients::redirect, node);
        if (!reusable(slot.grad, input.value) || slot.grad.use_count() != 1) return {};
        return {&mutable_tensor_of(slot.grad), !slot.written, &slot};
    }
    if (!reusable(input.grad, input.value)) return {};
    return {&mutable_tensor_of(input.grad), false, nullptr};
}

}  // namespace

void add_to_grad(Node& leaf, const Var& g) {
    if (g.requires_grad())
        throw GraphError(
            "parallel_backward: a part ran backward with create_graph; its gradients are graphs on that part's "
            "thread and cannot be added on the caller's");
    if (!leaf.grad.defined())
        leaf.grad = g.detach();
    else if (!leaf.grad.requires_grad())
        add_in_place(leaf.grad, g);
    else
        leaf.grad = add(leaf.grad, g);
}

namespace {

std::string released_message(const Node& node) {
    return fmt::format(
        "backward: the graph through '{}' was already freed by an earlier backward; pass retain_graph=true to "
        "the first backward to run backward through it again",
        node.op);
}

}  // namespace

const Node& Backward::input_node(std::size_t i) const {
    if (i >= node_->inputs.size())
        throw Error(fmt::format("backward of '{}': there is no input {}; the op has {} input{}", node_->op, i,
                                node_->inputs.size(), node_->inputs.size() == 1 ? "" : "s"));
    return *node_->inputs[i];
}

namespace {

std::string unsaved_message(const Node& node, const std::string& value) {
    return fmt::format("backward of '{}': its VJP reads {}, which record() was not told to save (Saved)", node.op,
                       value);
}

}  // namespace

const Node& Backward::saved_input_node(std::size_t i) const {
    const Node& input = input_node(i);
    if (!node_->saved.input(i)) throw Error(unsaved_message(*node_, fmt::format("input {}", i)));
    return input;
}

Var Backward::input(std::size_t i) const {
    saved_input_node(i);
    return Var(node_->inputs[i]);
}

Var Backward::output() const {
    if (!node_->saved.output) throw Error(unsaved_message(*node_, "the output"));
    return Var(node_);
}

const Tensor& Backward::input_value(std::size_t i) const { return saved_input_node(i).value; }

const Shape& Backward::input_shape(std::size_t i) const { return value_shape(input_node(i)); }

bool Backward::needs(std::size_t i) const { return input_node(i).requires_grad; }

bool Backward::create_graph() const { return sweep_.create_graph; }

void Backward::add_product(std::size_t i, const Var& a, const Var& b, bool transpose_a, bool transpose_b) {
    input_node(i);
    const ProductTarget into = product_target(node_->inputs[i], sweep_);
    // Reading an operand while writing the same array (a user passing w.grad() into the graph) must not happen.
    if (into.array && a.dtype() == dtype_of_tensor(*into.array) && b.dtype() == a.dtype() &&
        &tensor_of(a) != into.array && &tensor_of(b) != into.array) {
        const Shape &sa = a.shape(), &sb = b.shape(), &sc = shape_of_tensor(*into.array);
        const std::size_t m = transpose_a ? sa[1] : sa[0], k = transpose_a ? sa[0] : sa[1];
        const std::size_t n = transpose_b ? sb[0] : sb[1];
        if (sc.size() == 2 && sc[0] == m && sc[1] == n && (transpose_b ? sb[1] : sb[0]) == k) {
            visit(*into.array, [&](auto& c) {
                using A = std::decay_t<decltype(c)>;
                blas::gemm(transpose_a, transpose_b, m, n, k, std::get<A>(tensor_of(a)).data(),
                           std::get<A>(tensor_of(b)).data(), into.overwrite ? 0 : 1, c.data());
            });
            if (into.slot) into.slot->written = true;
            return;
        }
    }
    add(i, gemm("matmul_backward", a, b, transpose_a, transpose_b));
}

void Backward::add(std::size_t i, Var g) {
    input_node(i);
    Node& input = *node_->inputs[i];
    if (!input.requires_grad) return;
    require_defined(node_->op, g);
    // A freed value keeps its dtype (an empty array of it) and its shape.
    if (g.dtype() != dtype_of_tensor(input.value)) g = g.to(dtype_of_tensor(input.value));
    if (g.shape() != value_shape(input)) {
        try {
            g = sum_to(g, value_shape(input));
        } catch (const ShapeError&) {
            throw Error(fmt::format("backward of '{}': gradient of shape {} does not fit input {} of shape {}",
                                    node_->op, to_string(g.shape()), i, to_string(value_shape(input))));
        }
    }
    if (sweep_.check_anomalies)
        check_finite(tensor_of(g), node_->op, AnomalyError::Phase::backward, fmt::format("gradient of input {}", i));
    if (input.op == nullptr) {
        accumulate_leaf(sweep_, node_->inputs[i], std::move(g));
        return;
    }
    if (input.released) throw GraphError(released_message(input));
    if (input.tape_id != this_thread_tape().id)
        throw GraphError(fmt::format("backward: '{}' was recorded on another thread's tape; each thread can only "
                                     "run backward through the ops it recorded",
                                     input.op));
    if (!input.pending.defined()) input.keep_alive = node_->inputs[i];
    accumulate(sweep_, input.pending, std::move(g));
}

namespace {

Var root_gradient(const Var& root, const Var& output_gradient) {
    if (!output_gradient.defined()) {
        if (root.size() != 1)
            throw GraphError(fmt::format(
                "backward: the output of '{}' has shape {}; a non-scalar output needs an output gradient of that "
                "shape, e.g. backward(y, ones_like(y))",
                root.op(), to_string(root.shape())));
        return ones_like(root);
    }
    if (output_gradient.shape() != root.shape())
        throw ShapeError(fmt::format("backward: the output gradient has shape {} but the output of '{}' has shape {}",
                                     to_string(output_gradient.shape()), root.op(), to_string(root.shape())));
    return output_gradient.dtype() == root.dtype() ? output_gradient : output_gradient.detach().to(root.dtype());
}

// Runs the tape backwards from root. Nodes reached get their vjp called once all gradients flowing into them
// have arrived, which creation order guarantees: an op's consumers are always recorded after it.
void run(const Sweep& sweep, const Var& root, const Var& output_gradient, bool retain_graph) {
    require_defined("backward", root);
    Node& top = *root.node();
    if (!top.requires_grad)
        throw GraphError(fmt::format(
            "backward: the output of '{}' does not require grad (no leaf it depends on has requires_grad=true, "
            "or it was computed under NoGradGuard)",
            root.op()));
    const bool retain = retain_graph || sweep.create_graph;
    Var g0 = root_gradient(root, output_gradient);
    GradModeGuard grad_mode(sweep.create_graph);

    if (top.op == nullptr) {
        accumulate_leaf(sweep, root.node(), std::move(g0));
        return;
    }
    if (top.released) throw GraphError(released_message(top));
    Tape& tape = this_thread_tape();
    if (top.tape_id != tape.id)
        throw GraphError(fmt::format("backward: '{}' was recorded on another thread's tape", top.op));

    auto at = std::lower_bound(tape.entries.begin(), tape.entries.end(), top.seq,
                               [](const TapeEntry& e, std::uint64_t seq) { return e.seq < seq; });
    const std::size_t start = static_cast<std::size_t>(at - tape.entries.begin());
    top.pending = std::move(g0);
    // A create_graph sweep records the backward's own ops on this tape while it walks it.
    struct Walking {
        Tape& tape;
        explicit Walking(Tape& t) : tape(t) { ++tape.sweeps_running; }
        ~Walking() { --tape.sweeps_running; }
    } walking(tape);
    try {
        for (std::size_t k = start + 1; k-- > 0;) {
            // Index, not iterator: a create_graph sweep records new entries, which may reallocate.
            std::shared_ptr<Node> node = tape.entries[k].node.lock();
            if (!node || !node->pending.defined()) continue;
            node->keep_alive.reset();
            Var g = std::move(node->pending);
            node->pending = Var();
            if (node->capture) node->pending = g;  // collected by xg::grad after the sweep
            Backward context(g, node, sweep);
            try {
                node->vjp(context);
            } catch (const AnomalyError& error) {
                // An op the vjp ran found it: the user wants the forward op whose backward that was.
                if (error.phase == AnomalyError::Phase::backward) throw;
                throw AnomalyError(node->op, AnomalyError::Phase::backward, fmt::format("output of '{}'", error.op),
                                   error.nan, error.shape, error.flat_index);
            }
            if (!retain) {
                node->vjp = nullptr;
                node->inputs.clear();
                node->released = true;
            }
        }
    } catch (...) {
        for (std::size_t k = 0; k <= start && k < tape.entries.size(); ++k)
            if (auto node = tape.entries[k].node.lock(); node && !node->capture) {
                node->pending = Var();
                node->keep_alive.reset();
            }
        throw;
    }
    if (!retain) tape.compact();
}

}  // namespace

void backward(const Var& root, const Var& output_gradient, BackwardOptions options) {
    const Sweep sweep{Sweep::Leaves::accumulate, options.create_graph, is_anomaly_enabled()};
    run(sweep, root, output_gradient, options.retain_graph);
}

std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs, const Var& output_gradient,
                      BackwardOptions options) {
    // xg::grad marks the nodes it is asked about, which other parts may share.
    if (ThreadPool::in_task())
        throw GraphError("grad: not available inside parallel_backward's parts, which may share the nodes it marks; "
                         "call backward there");
    for (const Var& x : inputs) {
        require_defined("grad", x);
        if (!x.requires_grad())
            throw GraphError("grad: one of the inputs does not require grad, so it has no gradient");
    }
    for (const Var& x : inputs) x.node()->capture = true;
    struct Uncapture {
        const std::vector<Var>& inputs;
        ~Uncapture() {
            for (const Var& x : inputs) {
                x.node()->capture = false;
                x.node()->pending = Var();
            }
        }
    } uncapture{inputs};
    const Sweep sweep{Sweep::Leaves::capture, options.create_graph, is_anomaly_enabled()};
    run(sweep, output, output_gradient, options.retain_graph);
    std::vector<Var> result;
    result.reserve(inputs.size());
    for (const Var& x : inputs) {
        Var g = x.node()->pending;
        result.push_back(g.defined() ? g : zeros_like(x));
    }
    return result;
}

void Var::backward(const Var& output_gradient, bool retain_graph, bool create_graph) const {
    xg::backward(*this, output_gradient, {retain_graph, create_graph});
}

}  // namespace xg
