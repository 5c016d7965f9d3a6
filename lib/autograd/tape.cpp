// Recording: grad and anomaly mode, the per-thread tape, and record(), which every op calls to wrap its value.
#include "autograd/node.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <unordered_map>

namespace xg {

namespace {
thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;
}  // namespace

bool is_grad_enabled() { return grad_enabled; }
bool is_anomaly_enabled() { return anomaly_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }
GradModeGuard::GradModeGuard(bool enabled) : previous_(grad_enabled) { grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { grad_enabled = previous_; }
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_enabled) { anomaly_enabled = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_enabled = previous_; }
AnomalyModeGuard::AnomalyModeGuard(bool enabled) : previous_(anomaly_enabled) { anomaly_enabled = enabled; }
AnomalyModeGuard::~AnomalyModeGuard() { anomaly_enabled = previous_; }

AnomalyError::AnomalyError(std::string op, Phase phase, std::string value, bool nan, std::vector<std::size_t> shape,
                           std::size_t flat_index)
    : Error(fmt::format("anomaly: {} produced {} in {} (shape {}, first at flat index {})",
                        phase == Phase::forward ? fmt::format("'{}'", op) : fmt::format("backward of '{}'", op),
                        nan ? "NaN" : "Inf", phase == Phase::forward ? "its " + value : "the " + value,
                        to_string(Shape(shape.begin(), shape.end())), flat_index)),
      op(std::move(op)),
      phase(phase),
      value(std::move(value)),
      nan(nan),
      shape(std::move(shape)),
      flat_index(flat_index) {}

void check_finite(const Tensor& t, const char* op, AnomalyError::Phase phase, const std::string& value) {
    visit(t, [&](const auto& a) {
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!std::isfinite(a.data()[i]))
                throw AnomalyError(op, phase, value, std::isnan(a.data()[i]),
                                   std::vector<std::size_t>(a.shape().begin(), a.shape().end()), i);
    });
}

Node::~Node() {
    recycle(std::move(value));
    // Only an input that dies with this node and has inputs of its own starts a chain worth unwinding by hand (a
    // graph dropped without backward); a node that backward released has none.
    bool chain = false;
    for (const auto& input : inputs) chain = chain || (input && input.use_count() == 1 && !input->inputs.empty());
    if (!chain) return;
    std::vector<std::shared_ptr<Node>> stack;
    inputs.move_to(stack);
    while (!stack.empty()) {
        std::shared_ptr<Node> node = std::move(stack.back());
        stack.pop_back();
        if (node && node.use_count() == 1) node->inputs.move_to(stack);
    }
}

namespace {

// What a thread keeps for reuse: blocks of the node size (linked through their first bytes) and arrays by element
// count. Reached through a plain pointer, which stays readable while the thread's other locals are destroyed (a
// node freed then finds it null and goes back to the heap).
struct Store {
    void* blocks = nullptr;
    std::size_t block_size = 0;  // of the blocks kept: the first size asked for (there is one, the node's)
    std::size_t block_count = 0;
    std::unordered_map<std::size_t, std::vector<xt::xarray<float>>> floats;
    std::unordered_map<std::size_t, std::vector<xt::xarray<double>>> doubles;
    std::size_t array_bytes = 0;

    ~Store() {
        while (blocks) {
            void* next = *static_cast<void**>(blocks);
            ::operator delete(blocks);
            blocks = next;
        }
    }
    auto& arrays(float) { return floats; }
    auto& arrays(double) { return doubles; }
};

// Bounds on what a thread keeps: enough for the graph of a large training step. A larger array (a whole dataset
// made a Var) goes back to the system, which is what its owner expects of dropping it.
constexpr std::size_t most_kept_blocks = 8192;
constexpr std::size_t most_kept_arrays_per_size = 16;
constexpr std::size_t most_kept_array_bytes = std::size_t{256} << 20;
constexpr std::size_t largest_kept_array_bytes = std::size_t{32} << 20;

thread_local Store* store = nullptr;

struct StoreOwner {
    StoreOwner() { store = new Store; }
    ~StoreOwner() {
        delete store;
        store = nullptr;
    }
};

Store* this_thread_store() {
    static thread_local bool made = false;
    if (!made) {
        made = true;
        static thread_local StoreOwner owner;
    }
    return store;
}

}  // namespace

namespace detail {

void* take_block(std::size_t size) {
    Store* s = this_thread_store();
    if (s == nullptr || s->blocks == nullptr || s->block_size != size) return nullptr;
    void* block = s->blocks;
    s->blocks = *static_cast<void**>(block);
    --s->block_count;
    return block;
}

bool keep_block(void* block, std::size_t size) {
    Store* s = this_thread_store();
    if (s == nullptr || s->block_count >= most_kept_blocks) return false;
    if (s->block_size == 0) s->block_size = size;
    if (s->block_size != size) return false;
    *static_cast<void**>(block) = s->blocks;
    s->blocks = block;
    ++s->block_count;
    return true;
}

}  // namespace detail

template <class T>
xt::xarray<T> uninitialized(const Shape& shape) {
    std::size_t elements = 1;
    for (std::size_t extent : shape) elements *= extent;
    if (Store* s = this_thread_store(); s != nullptr && elements > 0) {
        auto& arrays = s->arrays(T{});
        if (auto found = arrays.find(elements); found != arrays.end() && !found->second.empty()) {
            xt::xarray<T> array = std::move(found->second.back());
            found->second.pop_back();
            s->array_bytes -= elements * sizeof(T);
            array.resize(shape);
            return array;
        }
    }
    return xt::xarray<T>::from_shape(shape);
}
template xt::xarray<float> uninitialized<float>(const Shape& shape);
template xt::xarray<double> uninitialized<double>(const Shape& shape);

void recycle(Tensor&& value) {
    Store* s = this_thread_store();
    if (s == nullptr) return;
    visit(value, [&](auto& array) {
        const std::size_t bytes = array.size() * sizeof(typename std::decay_t<decltype(array)>::value_type);
        if (array.size() == 0 || bytes > largest_kept_array_bytes || s->array_bytes + bytes > most_kept_array_bytes)
            return;
        auto& kept = s->arrays(typename std::decay_t<decltype(array)>::value_type{})[array.size()];
        if (kept.size() >= most_kept_arrays_per_size) return;
        if (kept.capacity() == 0) kept.reserve(most_kept_arrays_per_size);  // once per size, not step by step
        kept.push_back(std::move(array));
        s->array_bytes += bytes;
    });
}

Tape::Tape() : id([] {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1);
}()) {
    entries.reserve(compact_at);  // the entries until the first compaction, without growing step by step
}

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

namespace {

Var record(const char* op, Tensor value, const Var* inputs, std::size_t count, Vjp vjp, Saved saved) {
    if (op == nullptr || *op == '\0') throw Error("record: an op needs a name (a string literal)");
    if (anomaly_enabled) check_finite(value, op, AnomalyError::Phase::forward, "output");
    bool any = false;
    for (std::size_t i = 0; i < count; ++i) {
        if (!inputs[i].defined())
            throw Error(fmt::format("{}: input {} is undefined (a default-constructed Var)", op, i));
        any = any || inputs[i].node()->requires_grad;
    }
    auto node = make_node(std::move(value));
    if (!any || !grad_enabled) return Var(std::move(node));
    node->op = op;
    node->requires_grad = true;
    node->vjp = std::move(vjp);
    node->saved = saved;
    // A value under 16 KiB stays until its graph goes: freeing it would cost more time than its memory is worth.
    constexpr std::size_t least_freed_bytes = 16 * 1024;
    node->value_freeable =
        !saved.output && visit(node->value, [](const auto& a) { return a.size() * sizeof(*a.data()); }) >=
                             least_freed_bytes;
    const std::uint64_t tape = this_thread_tape().id;
    for (std::size_t i = 0; i < count; ++i) {
        const std::shared_ptr<Node>& input = inputs[i].node();
        node->inputs.push_back(input, input->op != nullptr && input->tape_id == tape, saved.input(i));
    }
    this_thread_tape().record(node);
    return Var(std::move(node));
}

}  // namespace

Var record(const char* op, Tensor value, std::initializer_list<Var> inputs, Vjp vjp, Saved saved) {
    return record(op, std::move(value), inputs.begin(), inputs.size(), std::move(vjp), saved);
}

Var record(const char* op, Tensor value, const std::vector<Var>& inputs, Vjp vjp, Saved saved) {
    return record(op, std::move(value), inputs.data(), inputs.size(), std::move(vjp), saved);
}

}  // namespace xg
