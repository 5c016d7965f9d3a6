#pragma once
// The engine's internals, seen only by lib/autograd and lib/ops (tests/layout/layering_test.py checks it): the node
// behind every Var, the per-thread tape, the sweep's mode, and what every op uses to compute its value and record
// its vector-Jacobian product beyond the public <xgrad/primitive.hpp>.
#include "support/checks.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/primitive.hpp>
#include <xgrad/var.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace xg {

struct Tape;
struct Node;

/// A node's inputs: up to three held in the node itself (every op but concat), more on the heap, so that recording
/// an op does not allocate a list. An input recorded on the same tape counts its consumers, and the consumers whose
/// VJP reads its value. Leaves (parameters that every thread's graphs share) and other threads' nodes are not
/// counted: their counts would be written by several threads, and an uncounted edge only keeps a value alive.
class NodeInputs {
public:
    NodeInputs() = default;
    NodeInputs(const NodeInputs&) = delete;
    NodeInputs& operator=(const NodeInputs&) = delete;
    ~NodeInputs() { clear(); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const std::shared_ptr<Node>& operator[](std::size_t i) const { return i < held ? first_[i] : more_[i - held]; }
    /// Adds `node` as the next input. When `counted` (inputs past the 64th never are), the edge counts among its
    /// consumers, and among its value's readers when `read` (this node's VJP saved that input).
    void push_back(std::shared_ptr<Node> node, bool counted, bool read);
    /// Drops every input (their counts go down).
    void clear();
    /// Moves the inputs to `into` and clears: a dying node hands its inputs over so that a long chain is freed
    /// without recursion.
    void move_to(std::vector<std::shared_ptr<Node>>& into);

    template <class Inputs, class Input>
    struct Iterator {
        Inputs* inputs;
        std::size_t i;
        Input& operator*() const { return (*inputs)[i]; }
        Iterator& operator++() {
            ++i;
            return *this;
        }
        bool operator!=(const Iterator& other) const { return i != other.i; }
    };
    Iterator<const NodeInputs, const std::shared_ptr<Node>> begin() const { return {this, 0}; }
    Iterator<const NodeInputs, const std::shared_ptr<Node>> end() const { return {this, size_}; }

private:
    std::shared_ptr<Node>& at(std::size_t i) { return i < held ? first_[i] : more_[i - held]; }
    /// Input i, moved out, its counts lowered (null when already taken).
    std::shared_ptr<Node> take(std::size_t i);

    static constexpr std::size_t held = 3;
    std::array<std::shared_ptr<Node>, held> first_;
    std::vector<std::shared_ptr<Node>> more_;
    std::size_t size_ = 0;
    std::uint64_t counted_ = 0;  // bit i: input i's consumers include this edge
    std::uint64_t reading_ = 0;  // bit i: input i's readers include this edge
};

struct Node {
    Tensor value;  // an empty array of its dtype once freed (Var::free_value_if_unneeded)
    // The value's shape, kept when the value is freed: a consumer's VJP may still ask for it (input_shape).
    Shape freed_shape;
    bool value_freed = false;
    // Recorded nodes holding this one as an input, and how many of them saved its value (NodeInputs counts both).
    std::uint32_t consumers = 0;
    std::uint32_t value_readers = 0;
    Saved saved;  // what its own VJP reads: which inputs' values, and its value
    // Recorded with a value worth freeing (16 KiB or more) that its own VJP does not read: see Var's destructor.
    bool value_freeable = false;
    Var grad;     // leaves: the accumulated .grad
    Var pending;  // gradient flowing into this node during a backward sweep
    // Holds the node while it has a pending gradient: backward frees consumers' inputs as it goes, and a node
    // whose gradient has arrived must live until the sweep reaches it.
    std::shared_ptr<Node> keep_alive;
    NodeInputs inputs;
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

inline void NodeInputs::push_back(std::shared_ptr<Node> node, bool counted, bool read) {
    if (counted && size_ < 64) {
        counted_ |= std::uint64_t{1} << size_;
        ++node->consumers;
        if (read) {
            reading_ |= std::uint64_t{1} << size_;
            ++node->value_readers;
        }
    }
    if (size_ < held)
        first_[size_] = std::move(node);
    else
        more_.push_back(std::move(node));
    ++size_;
}

inline std::shared_ptr<Node> NodeInputs::take(std::size_t i) {
    std::shared_ptr<Node> input = std::move(at(i));
    if (input && i < 64 && (counted_ >> i & 1) != 0) {
        --input->consumers;
        if ((reading_ >> i & 1) != 0) --input->value_readers;
    }
    return input;
}

inline void NodeInputs::clear() {
    for (std::size_t i = 0; i < size_; ++i) take(i);
    more_.clear();
    size_ = 0;
    counted_ = reading_ = 0;
}

inline void NodeInputs::move_to(std::vector<std::shared_ptr<Node>>& into) {
    for (std::size_t i = 0; i < size_; ++i)
        if (std::shared_ptr<Node> input = take(i)) into.push_back(std::move(input));
    more_.clear();
    size_ = 0;
    counted_ = reading_ = 0;
}

namespace detail {
/// Memory blocks of one size that this thread freed, kept (up to a bound) for its next allocations of that size.
void* take_block(std::size_t size);
bool keep_block(void* block, std::size_t size);
}  // namespace detail

/// The allocator nodes are made with (together with their reference counts): a training step frees as many nodes
/// as the next one records, so after the first step recording reuses blocks instead of calling malloc.
template <class T>
struct NodeAllocator {
    using value_type = T;
    NodeAllocator() = default;
    template <class U>
    NodeAllocator(const NodeAllocator<U>&) {}
    T* allocate(std::size_t n) {
        if (n == 1)
            if (void* block = detail::take_block(sizeof(T))) return static_cast<T*>(block);
        return static_cast<T*>(::operator new(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) {
        if (n != 1 || !detail::keep_block(p, sizeof(T))) ::operator delete(p);
    }
    template <class U>
    bool operator==(const NodeAllocator<U>&) const {
        return true;
    }
};

/// A new node, made with NodeAllocator.
template <class... Args>
std::shared_ptr<Node> make_node(Args&&... args) {
    return std::allocate_shared<Node>(NodeAllocator<Node>{}, std::forward<Args>(args)...);
}

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

/// Sets grad mode on this thread while alive (NoGradGuard's general form): a create_graph sweep records, any other
/// sweep does not.
class GradModeGuard {
public:
    explicit GradModeGuard(bool enabled);
    ~GradModeGuard();
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool previous_;
};

/// Sets anomaly mode on this thread while alive (DetectAnomalyGuard's general form).
class AnomalyModeGuard {
public:
    explicit AnomalyModeGuard(bool enabled);
    ~AnomalyModeGuard();
    AnomalyModeGuard(const AnomalyModeGuard&) = delete;
    AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

private:
    bool previous_;
};

/// How one backward sweep runs, fixed when it starts and handed to every vjp through its Backward.
struct Sweep {
    /// Where leaves' gradients go: into their .grad (backward), or collected for xg::grad (capture).
    enum class Leaves { accumulate, capture };
    Leaves leaves = Leaves::accumulate;
    /// The sweep records its own ops, so the gradients it makes are differentiable again.
    bool create_graph = false;
    /// Anomaly mode was on when the sweep started: every gradient handed on is checked for NaN and Inf.
    bool check_anomalies = false;
};

/// Where backward puts leaf gradients on a thread running one of parallel_backward's parts: not into the leaves'
/// .grad, which another part may be writing, but into these arrays, which parallel_backward adds into .grad once
/// every part has finished. The arrays stay with the thread from one call to the next, so a training step reuses them.
struct LeafGradients {
    struct Slot {
        std::weak_ptr<Node> leaf;
        Var grad;
        bool written = false;  // by this call; otherwise grad holds an earlier call's array, to be overwritten
    };
    std::unordered_map<const Node*, Slot> slots;
    /// The arrays of the part this thread runs, or null: outside parallel_backward and in part 0, leaf gradients go
    /// into .grad.
    static thread_local LeafGradients* redirect;
};

/// Adds a part's gradient of `leaf` into the leaf's .grad (parallel_backward, once the parts have finished).
void add_to_grad(Node& leaf, const Var& g);

/// A constant leaf holding `value`.
Var constant(Tensor value);

const Tensor& tensor_of(const Var& x);
Tensor& mutable_tensor_of(const Var& x);
Dtype dtype_of_tensor(const Tensor& t);
const Shape& shape_of_tensor(const Tensor& t);
/// Throws AnomalyError if t holds a NaN or Inf: `op` is the op the value belongs to, `phase` and `value` say
/// which value it is (see AnomalyError).
void check_finite(const Tensor& t, const char* op, AnomalyError::Phase phase, const std::string& value);

/// Runs f(xarray<T>&) on the tensor's array, whatever its dtype.
template <class F>
decltype(auto) visit(const Tensor& t, F&& f) {
    return std::visit(std::forward<F>(f), t);
}
template <class F>
decltype(auto) visit(Tensor& t, F&& f) {
    return std::visit(std::forward<F>(f), t);
}

/// Gives a dead node's array to this thread's store for uninitialized() to hand out again.
void recycle(Tensor&& value);

/// A tensor of the given dtype filled with `value`.
Tensor filled(Dtype dtype, const Shape& shape, double value);

/// The shape of a node's value, also once it is freed.
inline const Shape& value_shape(const Node& node) {
    return node.value_freed ? node.freed_shape : shape_of_tensor(node.value);
}

}  // namespace xg
