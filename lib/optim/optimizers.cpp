// The optimizers' update rules. Each runs as one loop over the parameter's elements, in place, reading the
// gradient and the state arrays directly: no graph, no temporaries.
#include "optim/state_entries.hpp"
#include "support/checks.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/optim.hpp>

#include <cmath>

namespace xg::optim {

namespace {

std::vector<ParamGroup> one_group(std::vector<Var> params) { return {ParamGroup{std::move(params), {}, {}}}; }

void check_hyperparameter(const char* optimizer, const char* name, double value, double low, double high) {
    if (!(value >= low && value <= high))
        throw Error(fmt::format("{}: {} must be in [{}, {}], got {}", optimizer, name, low, high, value));
}

// Runs f(p, g, s, n) on raw element pointers of the parameter, its gradient and its state arrays, in the
// parameter's element type. The update loops copy them into __restrict locals and compute in that type, so
// that they vectorize.
template <class F>
void for_elements(Var& param, const Var& grad, std::vector<Var>& state, F f) {
    param.visit_mutable_value([&](auto& p) {
        using T = typename std::decay_t<decltype(p)>::value_type;
        if (grad.dtype() != param.dtype() || grad.size() != p.size())
            throw GraphError(fmt::format("optimizer: gradient {} {} does not match parameter {} {}",
                                         dtype_name(grad.dtype()), to_string(grad.shape()),
                                         dtype_name(param.dtype()), to_string(param.shape())));
        T* s[3] = {nullptr, nullptr, nullptr};
        for (std::size_t i = 0; i < state.size(); ++i) s[i] = state[i].mutable_value<T>().data();
        f(p.data(), grad.value<T>().data(), s, p.size());
    });
}

// Runs f on the array of every parameter's gradient, in place; parameters without one are skipped.
template <class F>
void for_each_gradient(const std::vector<Var>& params, F f) {
    for (const Var& p : params)
        if (Var g = p.grad(); g.defined()) g.visit_mutable_value(f);
}

}  // namespace

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, double lr, double weight_decay,
                     std::vector<std::string> state_names)
    : name_(name), state_names_(std::move(state_names)) {
    require_non_negative(name, "lr", lr);
    require_non_negative(name, "weight_decay", weight_decay);
    if (groups.empty()) throw Error(fmt::format("{}: no parameter groups", name));
    for (std::size_t g = 0; g < groups.size(); ++g) {
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
            const Var& p = groups[g].params[i];
            if (!p.defined()) throw Error(fmt::format("{}: parameter {} of group {} is undefined", name, i, g));
            // A frozen leaf (requires_grad false) is welcome and skipped by step, as in PyTorch.
            if (!p.is_leaf())
                throw Error(fmt::format("{}: parameter {} of group {} (shape {}) is the output of '{}'; only leaves "
                                        "can be optimized",
                                        name, i, g, to_string(p.shape()), p.op()));
        }
        Group group{std::move(groups[g].params), groups[g].lr.value_or(lr), groups[g].weight_decay.value_or(weight_decay)};
        require_non_negative(name, "lr", group.lr);
        require_non_negative(name, "weight_decay", group.weight_decay);
        slots_.emplace_back(group.params.size());
        groups_.push_back(std::move(group));
    }
}

void Optimizer::init_state(const Var& param, Slot& slot) const {
    for (std::size_t i = 0; i < state_names_.size(); ++i) slot.state.push_back(zeros_like(param));
}

void Optimizer::step() {
    NoGradGuard no_grad;
    for (std::size_t g = 0; g < groups_.size(); ++g)
        for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
            Var& param = groups_[g].params[i];
            // Frozen: it keeps its value and its state, even with a .grad left from before it was frozen.
            if (!param.requires_grad()) continue;
            Var grad = param.grad();
            if (!grad.defined()) continue;
            Slot& slot = slots_[g][i];
            if (slot.state.size() != state_names_.size()) init_state(param, slot);
            ++slot.steps;
            update(groups_[g], param, grad, slot);
        }
}

void Optimizer::zero_grad() {
    for (Group& group : groups_)
        for (Var& p : group.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
    require_non_negative(name_, "lr", lr);
    for (Group& group : groups_) group.lr = lr;
}

// state_dict -----------------------------------------------------------------------------------------------

namespace {

// The name of every parameter, groups in order: the caller's, or each one's position.
std::vector<std::string> parameter_names_for(const char* op, const std::string& optimizer,
                                             const std::vector<Optimizer::Group>& groups,
                                             const std::vector<std::string>& given) {
    std::size_t count = 0;
    for (const auto& group : groups) count += group.params.size();
    if (given.empty()) {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < count; ++i) names.push_back(std::to_string(i));
        return names;
    }
    if (given.size() != count)
        throw Error(fmt::format("{}::{}: {} parameter names for {} parameters", optimizer, op, given.size(), count));
    return given;
}

}  // namespace

Named<Var> Optimizer::state_dict(const std::vector<std::string>& parameter_names) const {
    const std::vector<std::string> names = parameter_names_for("state_dict", name_, groups_, parameter_names);
    Named<Var> out;
    std::size_t index = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        out.emplace_back(fmt::format("group{}.lr", g), Var(groups_[g].lr));
        for (const Slot& slot : slots_[g]) {
            const std::string& name = names[index++];
            out.emplace_back(name + ".step", Var(static_cast<double>(slot.steps)));
            for (std::size_t s = 0; s < slot.state.size(); ++s)
                out.emplace_back(name + "." + state_names_[s], slot.state[s].detach());
        }
    }
    return out;
}

void Optimizer::load_state_dict(const Named<Var>& state, const std::vector<std::string>& parameter_names) {
    const std::vector<std::string> names = parameter_names_for("load_state_dict", name_, groups_, parameter_names);
    StateEntries entries(fmt::format("{}::load_state_dict: the state", name_), state);
    // Everything is read and checked into these first, and assigned only when all of it is good.
    std::vector<double> lrs;
    std::vector<std::vector<Slot>> slots(groups_.size());
    std::size_t index = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        lrs.push_back(entries.learning_rate(fmt::format("group{}.lr", g)));
        for (const Var& param : groups_[g].params) {
            const std::string& name = names[index++];
            Slot slot;
            slot.steps = entries.step_count(name + ".step");
            // A parameter the optimizer never stepped has no state arrays.
            if (!state_names_.empty() && entries.has(name + "." + state_names_.front()))
                for (const std::string& s : state_names_)
                    slot.state.push_back(entries.expect(name + "." + s, param.shape(), param.dtype()).detach());
            slots[g].push_back(std::move(slot));
        }
    }
    entries.refuse_unused(fmt::format("{} optimizer", name_));
    for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = lrs[g];
    slots_ = std::move(slots);
}

// SGD ------------------------------------------------------------------------------------------------------

SGD::SGD(std::vector<Var> params, SGDOptions options) : SGD(one_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay,
                options.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}),
      options_(options) {
    check_hyperparameter("SGD", "momentum", options.momentum, 0.0, 1.0);
    check_hyperparameter("SGD", "dampening", options.dampening, 0.0, 1.0);
    if (options.nesterov && (options.momentum == 0.0 || options.dampening != 0.0))
        throw Error("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
}

void SGD::update(const Group& group, Var& param, const Var& grad, Slot& slot) {
    const double damp = slot.steps == 1 ? 0.0 : options_.dampening;  // the first step copies g into b
    for_elements(param, grad, slot.state, [&](auto* p_, const auto* g_, auto** s, std::size_t n) {
        using T = std::decay_t<decltype(*p_)>;
        T* __restrict p = p_;
        const T* __restrict g = g_;
        T* __restrict b = s[0];
        const T lr = T(group.lr), wd = T(group.weight_decay), mu = T(options_.momentum), keep = T(1.0 - damp);
        if (options_.momentum == 0.0) {
            for (std::size_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
        } else if (options_.nesterov) {
            for (std::size_t i = 0; i < n; ++i) {
                const T d = g[i] + wd * p[i];
                b[i] = mu * b[i] + keep * d;
                p[i] -= lr * (d + mu * b[i]);
            }
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                b[i] = mu * b[i] + keep * (g[i] + wd * p[i]);
                p[i] -= lr * b[i];
            }
        }
    });
}

Momentum::Momentum(std::vector<Var> params, MomentumOptions o) : Momentum(one_group(std::move(params)), o) {}
Momentum::Momentum(std::vector<ParamGroup> groups, MomentumOptions o)
    : SGD(std::move(groups), {o.lr, o.momentum, o.dampening, o.weight_decay, false}) {}

Nesterov::Nesterov(std::vector<Var> params, MomentumOptions o) : Nesterov(one_group(std::move(params)), o) {}
Nesterov::Nesterov(std::vector<ParamGroup> groups, MomentumOptions o)
    : SGD(std::move(groups), {o.lr, o.momentum, o.dampening, o.weight_decay, true}) {}

// Adagrad --------------------------------------------------------------------------------------------------

Adagrad::Adagrad(std::vector<Var> params, AdagradOptions options) : Adagrad(one_group(std::move(params)), options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions options)
    : Optimizer("Adagrad", std::move(groups), options.lr, options.weight_decay, {"sum"}), options_(options) {
    require_non_negative("Adagrad", "lr_decay", options.lr_decay);
    require_non_negative("Adagrad", "eps", options.eps);
    require_non_negative("Adagrad", "initial_accumulator_value", options.initial_accumulator_value);
}

void Adagrad::init_state(const Var& param, Slot& slot) const {
    slot.state.push_back(full(param.shape(), options_.initial_accumulator_value, param.dtype()));
}

void Adagrad::update(const Group& group, Var& param, const Var& grad, Slot& slot) {
    const double decayed_lr = group.lr / (1.0 + static_cast<double>(slot.steps - 1) * options_.lr_decay);
    for_elements(param, grad, slot.state, [&](auto* p_, const auto* g_, auto** s, std::size_t n) {
        using T = std::decay_t<decltype(*p_)>;
        T* __restrict p = p_;
        const T* __restrict g = g_;
        T* __restrict h = s[0];
        const T lr = T(decayed_lr), wd = T(group.weight_decay), eps = T(options_.eps);
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * p[i];
            h[i] += d * d;
            p[i] -= lr * d / (std::sqrt(h[i]) + eps);
        }
    });
}

// RMSprop --------------------------------------------------------------------------------------------------

namespace {
std::vector<std::string> rmsprop_state(const RMSpropOptions& o) {
    std::vector<std::string> names{"square_avg"};
    if (o.momentum != 0.0) names.push_back("momentum_buffer");
    if (o.centered) names.push_back("grad_avg");
    return names;
}
}  // namespace

RMSprop::RMSprop(std::vector<Var> params, RMSpropOptions options) : RMSprop(one_group(std::move(params)), options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions options)
    : Optimizer("RMSprop", std::move(groups), options.lr, options.weight_decay, rmsprop_state(options)),
      options_(options) {
    check_hyperparameter("RMSprop", "alpha", options.alpha, 0.0, 1.0);
    check_hyperparameter("RMSprop", "momentum", options.momentum, 0.0, 1.0);
    require_non_negative("RMSprop", "eps", options.eps);
}

void RMSprop::update(const Group& group, Var& param, const Var& grad, Slot& slot) {
    const std::size_t avg = options_.momentum != 0.0 ? 2 : 1;  // index of grad_avg among the state arrays
    for_elements(param, grad, slot.state, [&](auto* p_, const auto* g_, auto** s, std::size_t n) {
        using T = std::decay_t<decltype(*p_)>;
        T* __restrict p = p_;
        const T* __restrict g = g_;
        T* __restrict v = s[0];
        T* __restrict b = options_.momentum != 0.0 ? s[1] : nullptr;
        T* __restrict m = options_.centered ? s[avg] : nullptr;
        const T lr = T(group.lr), wd = T(group.weight_decay), alpha = T(options_.alpha), eps = T(options_.eps);
        const T mu = T(options_.momentum), rest = T(1.0 - options_.alpha);
        const bool centered = options_.centered, momentum = options_.momentum != 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + wd * p[i];
            v[i] = alpha * v[i] + rest * d * d;
            T variance = v[i];
            if (centered) {
                m[i] = alpha * m[i] + rest * d;
                variance -= m[i] * m[i];
            }
            const T step = d / (std::sqrt(variance) + eps);
            if (momentum) {
                b[i] = mu * b[i] + step;
                p[i] -= lr * b[i];
            } else {
                p[i] -= lr * step;
            }
        }
    });
}

// Adam and AdamW -------------------------------------------------------------------------------------------

Adam::Adam(std::vector<Var> params, AdamOptions options) : Adam("Adam", one_group(std::move(params)), options) {}
Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam("Adam", std::move(groups), options) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay, {"exp_avg", "exp_avg_sq"}),
      options_(options) {
    for (const auto& [beta, value] : {std::pair{"betas.first", options.betas.first}, {"betas.second", options.betas.second}})
        if (!(value >= 0.0 && value < 1.0))
            throw Error(fmt::format("{}: {} must be in [0, 1), got {}", name, beta, value));
    require_non_negative(name, "eps", options.eps);
}

void Adam::update(const Group& group, Var& param, const Var& grad, Slot& slot) {
    const double beta1 = options_.betas.first, beta2 = options_.betas.second;
    const double t = static_cast<double>(slot.steps);
    const double correction1 = 1.0 - std::pow(beta1, t), correction2 = 1.0 - std::pow(beta2, t);
    for_elements(param, grad, slot.state, [&](auto* p_, const auto* g_, auto** s, std::size_t n) {
        using T = std::decay_t<decltype(*p_)>;
        T* __restrict p = p_;
        const T* __restrict g = g_;
        T* __restrict m = s[0];
        T* __restrict v = s[1];
        // p ← shrink·p − (lr / c₁)·m / (√v / √c₂ + eps): the bias corrections folded into two scalars.
        const T step_size = T(group.lr / correction1), inverse_sqrt_c2 = T(1.0 / std::sqrt(correction2));
        const T b1 = T(beta1), b2 = T(beta2), rest1 = T(1.0 - beta1), rest2 = T(1.0 - beta2), eps = T(options_.eps);
        const T shrink = T(decoupled_ ? 1.0 - group.lr * group.weight_decay : 1.0);
        const T l2 = T(decoupled_ ? 0.0 : group.weight_decay);
        for (std::size_t i = 0; i < n; ++i) {
            const T d = g[i] + l2 * p[i];
            m[i] = b1 * m[i] + rest1 * d;
            v[i] = b2 * v[i] + rest2 * d * d;
            p[i] = shrink * p[i] - step_size * m[i] / (std::sqrt(v[i]) * inverse_sqrt_c2 + eps);
        }
    });
}

AdamW::AdamW(std::vector<Var> params, AdamWOptions o) : AdamW(one_group(std::move(params)), o) {}
AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions o)
    : Adam("AdamW", std::move(groups), {o.lr, o.betas, o.eps, o.weight_decay}) {
    decoupled_ = true;
}

// Clipping -------------------------------------------------------------------------------------------------

double clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm_type) {
    if (!(max_norm >= 0.0)) throw Error(fmt::format("clip_grad_norm: max_norm must be non-negative, got {}", max_norm));
    if (!(norm_type > 0.0)) throw Error(fmt::format("clip_grad_norm: norm_type must be positive, got {}", norm_type));
    const bool max_norm_type = std::isinf(norm_type), two_norm = norm_type == 2.0;
    double total = 0.0;
    for_each_gradient(params, [&](const auto& a) {
        for (const auto v : a) {
            const double x = std::abs(static_cast<double>(v));
            // std::pow per element would cost more than the training step it guards.
            total = max_norm_type ? std::max(total, x) : total + (two_norm ? x * x : std::pow(x, norm_type));
        }
    });
    const double norm = max_norm_type ? total : std::pow(total, 1.0 / norm_type);
    const double scale = max_norm / (norm + 1e-6);  // PyTorch's epsilon
    if (scale < 1.0)
        for_each_gradient(params, [&](auto& a) {
            using T = typename std::decay_t<decltype(a)>::value_type;
            for (auto& v : a) v = static_cast<T>(v * scale);
        });
    return norm;
}

void clip_grad_value(const std::vector<Var>& params, double clip_value) {
    if (!(clip_value >= 0.0))
        throw Error(fmt::format("clip_grad_value: clip_value must be non-negative, got {}", clip_value));
    for_each_gradient(params, [&](auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        for (auto& v : a) v = std::clamp(v, static_cast<T>(-clip_value), static_cast<T>(clip_value));
    });
}

}  // namespace xg::optim
