// The tape, recording, and the backward sweep.
#include "autograd/node.hpp"

#include <xtensor/xnoalias.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>

namespace xg {

namespace {
thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;

// Leaves' gradients are written into their .grad by backward, or collected for xg::grad.
enum class LeafMode { accumulate, capture };

class EnableGradGuard {
public:
    explicit EnableGradGuard(bool on) : previous_(grad_enabled) { grad_enabled = on; }
    ~EnableGradGuard() { grad_enabled = previous_; }

private:
    bool previous_;
};

thread_local LeafMode leaf_mode = LeafMode::accumulate;
thread_local bool sweep_creates_graph = false;
}  // namespace

bool is_grad_enabled() { return grad_enabled; }
bool is_anomaly_enabled() { return anomaly_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_enabled) { anomaly_enabled = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_enabled = previous_; }

Node::~Node() {
    if (inputs.empty()) return;
    std::vector<std::shared_ptr<Node>> stack = std::move(inputs);
    while (!stack.empty()) {
        std::shared_ptr<Node> node = std::move(stack.back());
        stack.pop_back();
        if (node && node.use_count() == 1) {
            for (auto& input : node->inputs) stack.push_back(std::move(input));
            node->inputs.clear();
        }
    }
}

Tape::Tape() : id([] {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1);
}()) {}

Tape& this_thread_tape() {
    thread_local Tape tape;
    return tape;
}

void Tape::record(const std::shared_ptr<Node>& node) {
    if (entries.size() >= compact_at && sweeps_running == 0) {
        compact();
        compact_at = std::max<std::size_t>(1024, 2 * entries.size());
    }
    node->seq = next_seq++;
    node->tape_id = id;
    entries.push_back({node->seq, node});
}

void Tape::compact() {
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [](const TapeEntry& e) {
                                     auto node = e.node.lock();
                                     return !node || node->released;
                                 }),
                  entries.end());
}

std::size_t tape_size() {
    Tape& tape = this_thread_tape();
    tape.compact();
    return tape.entries.size();
}

Var record(const char* op, Tensor value, std::initializer_list<Var> inputs, Vjp vjp) {
    return record(op, std::move(value), std::vector<Var>(inputs), std::move(vjp));
}

Var record(const char* op, Tensor value, const std::vector<Var>& inputs, Vjp vjp) {
    if (anomaly_enabled) check_finite(value, fmt::format("'{}' produced {{}} in its output", op));
    auto node = std::make_shared<Node>(std::move(value));
    bool any = false;
    if (grad_enabled)
        for (const Var& x : inputs) any = any || x.node()->requires_grad;
    if (!any) return Var(std::move(node));
    node->op = op;
    node->requires_grad = true;
    node->vjp = std::move(vjp);
    node->inputs.reserve(inputs.size());
    for (const Var& x : inputs) node->inputs.push_back(x.node());
    this_thread_tape().record(node);
    return Var(std::move(node));
}

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
void accumulate(Var& slot, Var g) {
    if (!slot.defined()) {
        slot = std::move(g);
    } else if (!sweep_creates_graph && exclusively_ours(slot)) {
        add_in_place(slot, g);
    } else {
        slot = add(slot, g);
    }
}

void accumulate_leaf_grad(Node& leaf, Var g) {
    if (!leaf.grad.defined()) {
        // .grad outlives this sweep and is updated in place later, so it must not share g's node.
        leaf.grad = (sweep_creates_graph || exclusively_ours(g)) ? std::move(g) : g.detach();
    } else if (!sweep_creates_graph && !leaf.grad.requires_grad()) {
        add_in_place(leaf.grad, g);
    } else {
        leaf.grad = add(leaf.grad, g);
    }
}

std::string released_message(const Node& node) {
    return fmt::format(
        "backward: the graph through '{}' was already freed by an earlier backward; pass retain_graph=true to "
        "the first backward to run backward through it again",
        node.op);
}

}  // namespace

Tensor* Backward::leaf_grad(std::size_t i) const {
    Node& input = *node_->inputs[i];
    if (input.op != nullptr || !input.requires_grad || leaf_mode != LeafMode::accumulate || create_graph_ ||
        anomaly_enabled || !input.grad.defined() || input.grad.requires_grad())
        return nullptr;
    Tensor& grad = input.grad.node()->value;
    if (grad.index() != input.value.index() || shape_of_tensor(grad) != shape_of_tensor(input.value)) return nullptr;
    return &grad;
}

void Backward::add(std::size_t i, Var g) {
    Node& input = *node_->inputs[i];
    if (!input.requires_grad) return;
    if (g.shape() != shape_of_tensor(input.value)) {
        try {
            g = sum_to(g, shape_of_tensor(input.value));
        } catch (const ShapeError&) {
            throw Error(fmt::format("backward of '{}': gradient of shape {} does not fit input {} of shape {}",
                                    node_->op, to_string(g.shape()), i, to_string(shape_of_tensor(input.value))));
        }
    }
    if (anomaly_enabled)
        check_finite(tensor_of(g), fmt::format("backward of '{}' produced {{}} in the gradient of input {}",
                                               node_->op, i));
    if (input.op == nullptr) {
        if (leaf_mode == LeafMode::accumulate)
            accumulate_leaf_grad(input, std::move(g));
        else if (input.capture)
            accumulate(input.pending, std::move(g));
        return;
    }
    if (input.released) throw GraphError(released_message(input));
    if (input.tape_id != this_thread_tape().id)
        throw GraphError(fmt::format("backward: '{}' was recorded on another thread's tape; each thread can only "
                                     "run backward through the ops it recorded",
                                     input.op));
    if (!input.pending.defined()) input.keep_alive = node_->inputs[i];
    accumulate(input.pending, std::move(g));
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
void sweep(const Var& root, const Var& output_gradient, BackwardOptions options, LeafMode mode) {
    require_defined("backward", root);
    Node& top = *root.node();
    if (!top.requires_grad)
        throw GraphError(fmt::format(
            "backward: the output of '{}' does not require grad (no leaf it depends on has requires_grad=true, "
            "or it was computed under NoGradGuard)",
            root.op()));
    const bool create_graph = options.create_graph;
    const bool retain = options.retain_graph || create_graph;
    Var g0 = root_gradient(root, output_gradient);

    EnableGradGuard grad_mode(create_graph);
    const LeafMode previous_mode = leaf_mode;
    const bool previous_create = sweep_creates_graph;
    leaf_mode = mode;
    sweep_creates_graph = create_graph;
    struct Restore {
        LeafMode mode;
        bool create;
        ~Restore() {
            leaf_mode = mode;
            sweep_creates_graph = create;
        }
    } restore{previous_mode, previous_create};

    if (top.op == nullptr) {
        if (mode == LeafMode::accumulate) accumulate_leaf_grad(top, g0);
        else if (top.capture) accumulate(top.pending, g0);
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
            Backward context(g, node, create_graph);
            try {
                node->vjp(context);
            } catch (const AnomalyError& error) {
                // The ops inside a vjp are the backward's own; the user wants the forward op it belongs to.
                std::string message = error.what();
                if (message.find(fmt::format("backward of '{}'", node->op)) != std::string::npos) throw;
                if (message.rfind("anomaly: ", 0) == 0) message.erase(0, 9);
                throw AnomalyError(fmt::format("anomaly in backward of '{}': {}", node->op, message));
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
    sweep(root, output_gradient, options, LeafMode::accumulate);
}

std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs, const Var& output_gradient,
                      BackwardOptions options) {
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
    sweep(output, output_gradient, options, LeafMode::capture);
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
