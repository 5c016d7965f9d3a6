// Module bookkeeping (names, modes, traversal), Sequential, Functional and the summary table.
#include "support/checks.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/nn.hpp>

#include <algorithm>
#include <map>

namespace xg::nn {

namespace {

// What summary() collects while the model runs: one row per module call, in call order.
struct SummaryRow {
    std::size_t depth;
    const Module* module;
    Shape output_shape;
};
struct SummaryCollector {
    std::vector<SummaryRow> rows;
    std::size_t depth = 0;
};
thread_local SummaryCollector* active_summary = nullptr;

std::string with_thousands(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::size_t count_elements(const Named<Var>& named) {
    std::size_t n = 0;
    for (const auto& [name, v] : named) n += v.size();
    return n;
}

}  // namespace

Var Module::operator()(const Var& input) {
    SummaryCollector* collector = active_summary;
    if (!collector) return forward(input);
    const std::size_t row = collector->rows.size();
    collector->rows.push_back({collector->depth, this, {}});
    ++collector->depth;
    Var output = forward(input);
    --collector->depth;
    collector->rows[row].output_shape = output.shape();
    return output;
}

std::string Module::description() const { return "Module"; }

void Module::check_new_name(const std::string& name) const {
    if (name.empty() || name.find('.') != std::string::npos)
        throw Error(fmt::format("Module: name '{}' must be non-empty and contain no '.'", name));
    const auto taken = [&](const auto& list) {
        return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
    };
    if (taken(parameters_) || taken(buffers_) || taken(children_))
        throw Error(fmt::format("Module: name '{}' is already registered", name));
}

Var Module::register_parameter(std::string name, Var parameter) {
    check_new_name(name);
    require_defined("register_parameter", parameter);
    parameter.set_requires_grad(true);
    parameters_.emplace_back(std::move(name), parameter);
    return parameter;
}

Var Module::register_buffer(std::string name, Var buffer) {
    check_new_name(name);
    require_defined("register_buffer", buffer);
    buffers_.emplace_back(std::move(name), buffer);
    return buffer;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
    check_new_name(name);
    if (!module) throw Error(fmt::format("Module: child '{}' is null", name));
    children_.emplace_back(std::move(name), std::move(module));
}

namespace {
// Own entries as "name", children's as "child.name", depth first.
template <class Get>
void collect(const Module& m, const std::string& prefix, Named<Var>& out, Get get) {
    for (const auto& [name, v] : get(m)) out.emplace_back(prefix + name, v);
    for (const auto& [name, child] : m.children()) collect(*child, prefix + name + ".", out, get);
}
}  // namespace

Named<Var> Module::named_parameters() const {
    Named<Var> out;
    collect(*this, "", out, [](const Module& m) -> const Named<Var>& { return m.parameters_; });
    return out;
}

Named<Var> Module::named_buffers() const {
    Named<Var> out;
    collect(*this, "", out, [](const Module& m) -> const Named<Var>& { return m.buffers_; });
    return out;
}

std::vector<Var> Module::parameters() const {
    std::vector<Var> out;
    for (auto& [name, v] : named_parameters()) out.push_back(v);
    return out;
}

Named<Module*> Module::named_modules() {
    Named<Module*> out{{"", this}};
    for (auto& [name, child] : children_)
        for (auto& [path, m] : child->named_modules()) out.emplace_back(path.empty() ? name : name + "." + path, m);
    return out;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
    for (auto& [name, v] : named_parameters()) v.zero_grad();
}

void Module::to(Dtype dtype) {
    NoGradGuard no_grad;
    for (auto* named : {&parameters_, &buffers_})
        for (auto& [name, v] : *named) {
            v.set_data(v.to(dtype));
            Var grad = v.grad();
            if (!grad.defined()) continue;
            if (grad.is_leaf())
                grad.set_data(grad.to(dtype));
            else
                v.clear_grad();
        }
    for (auto& [name, child] : children_) child->to(dtype);
}

Module& Sequential::operator[](std::size_t i) const {
    if (i >= size()) throw Error(fmt::format("Sequential: index {} out of range for {} modules", i, size()));
    return *children()[i].second;
}

Var Sequential::forward(const Var& input) {
    Var x = input;
    for (const auto& [name, child] : children()) x = (*child)(x);
    return x;
}

Functional::Functional(std::function<Var(const Var&)> function, std::string name)
    : function_(std::move(function)), name_(std::move(name)) {
    if (!function_) throw Error("Functional: empty function");
}

std::string summary(Module& model, const Shape& input_shape, Dtype dtype) {
    std::map<const Module*, std::string> paths;
    for (const auto& [path, m] : model.named_modules()) paths.emplace(m, path);

    SummaryCollector collector;
    {
        // Eval mode so BatchNorm's running statistics and Dropout's stream are left alone.
        struct Scope {
            Module& model;
            bool was_training = model.is_training();
            Scope(Module& m, SummaryCollector* c) : model(m) {
                model.eval();
                active_summary = c;
            }
            ~Scope() {
                active_summary = nullptr;
                model.train(was_training);
            }
        } scope(model, &collector);
        NoGradGuard no_grad;
        model(zeros(input_shape, dtype));
    }

    struct Line {
        std::string layer, shape, params;
    };
    std::vector<Line> lines{{"Layer (type)", "Output shape", "Param #"}};
    for (const SummaryRow& row : collector.rows) {
        const Module& m = *row.module;
        const std::string& path = paths.count(&m) ? paths[&m] : std::string("?");
        Named<Var> own;  // this module's own parameters, not its children's
        for (const auto& [name, v] : m.named_parameters())
            if (name.find('.') == std::string::npos) own.emplace_back(name, v);
        const std::size_t count = count_elements(own);
        lines.push_back({std::string(2 * row.depth, ' ') + (path.empty() ? "" : path + ": ") + m.description(),
                         to_string(row.output_shape),
                         count == 0 && !m.children().empty() ? "--" : with_thousands(count)});
    }
    std::size_t w0 = 0, w1 = 0, w2 = 0;
    for (const Line& l : lines) {
        w0 = std::max(w0, l.layer.size());
        w1 = std::max(w1, l.shape.size());
        w2 = std::max(w2, l.params.size());
    }
    const std::string rule(w0 + w1 + w2 + 4, '=');
    std::string out = fmt::format("Input: {} {}\n{}\n", to_string(input_shape), dtype_name(dtype), rule);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += fmt::format("{:<{}}  {:<{}}  {:>{}}\n", lines[i].layer, w0, lines[i].shape, w1, lines[i].params, w2);
        if (i == 0) out += rule + "\n";
    }
    std::size_t total = 0, trainable = 0;
    for (const auto& [name, v] : model.named_parameters()) {
        total += v.size();
        if (v.requires_grad()) trainable += v.size();
    }
    out += rule + "\n";
    out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: {}\n", with_thousands(total),
                       with_thousands(trainable), with_thousands(total - trainable));
    out += fmt::format("Buffers: {}\n", with_thousands(count_elements(model.named_buffers())));
    return out;
}

}  // namespace xg::nn
