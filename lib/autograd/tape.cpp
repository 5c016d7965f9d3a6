// Recording: grad and anomaly mode, the per-thread tape, and record(), which every op calls to wrap its value.
#include "autograd/node.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

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
    if (op == nullptr || *op == '\0') throw Error("record: an op needs a name (a string literal)");
    if (anomaly_enabled) check_finite(value, op, AnomalyError::Phase::forward, "output");
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined())
            throw Error(fmt::format("{}: input {} is undefined (a default-constructed Var)", op, i));
        any = any || inputs[i].node()->requires_grad;
    }
    auto node = std::make_shared<Node>(std::move(value));
    if (!any || !grad_enabled) return Var(std::move(node));
    node->op = op;
    node->requires_grad = true;
    node->vjp = std::move(vjp);
    node->inputs.reserve(inputs.size());
    for (const Var& x : inputs) node->inputs.push_back(x.node());
    this_thread_tape().record(node);
    return Var(std::move(node));
}

}  // namespace xg
