#pragma once
// Optimizers: each step updates parameters in place from their .grad, under no-grad, allocating only its
// state arrays on the first step. Names and defaults follow PyTorch; docs/optim.md gives every update rule.
#include <xgrad/var.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xg::optim {

/// Parameters that share hyper-parameters. An unset lr or weight_decay takes the optimizer's.
struct ParamGroup {
    std::vector<Var> params;
    std::optional<double> lr;
    std::optional<double> weight_decay;
};

/// Base of the optimizers: parameter groups, step, zero_grad and per-parameter state.
class Optimizer {
public:
    /// A parameter group with its settings filled in. Change lr here (or through a schedule) between steps.
    struct Group {
        std::vector<Var> params;
        double lr;
        double weight_decay;
    };

    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// Updates every parameter that has a gradient; parameters without one are skipped.
    void step();
    /// Zeroes every parameter's gradient (keeping its memory).
    void zero_grad();

    std::vector<Group>& param_groups() { return groups_; }
    const std::vector<Group>& param_groups() const { return groups_; }
    /// The first group's learning rate.
    double lr() const { return groups_.front().lr; }
    /// Sets every group's learning rate.
    void set_lr(double lr);
    /// "Adam", "SGD", ...
    const char* name() const { return name_; }
    /// The names of the state arrays kept per parameter, as in PyTorch's state_dict ("exp_avg", ...).
    const std::vector<std::string>& state_names() const { return state_names_; }

    /// The optimizer's state as named float arrays (copies), PyTorch's state_dict() flattened: "group<g>.lr" for
    /// each group and, for each parameter, "<name>.step" and, once it has stepped, "<name>.<state>" for each of
    /// state_names(). Parameters are named by `parameter_names`, one per parameter with the groups in order, or
    /// by default by their position "0", "1", ..., as PyTorch numbers them.
    Named<Var> state_dict(const std::vector<std::string>& parameter_names = {}) const;
    /// Restores what state_dict gave, under the same names, into an optimizer of the same kind over parameters of
    /// the same shapes. Every entry is checked before anything changes: each must be there with its parameter's
    /// shape and dtype, learning rates must be non-negative numbers, step counts whole numbers from 0 to 2^53, and
    /// no entry may be left over. The first problem throws Error("<name>::load_state_dict: the state ...").
    void load_state_dict(const Named<Var>& state, const std::vector<std::string>& parameter_names = {});

protected:
    /// What the optimizer keeps for one parameter: its state arrays (shaped like it) and its step count.
    struct Slot {
        std::vector<Var> state;
        std::uint64_t steps = 0;
    };

    Optimizer(const char* name, std::vector<ParamGroup> groups, double lr, double weight_decay,
              std::vector<std::string> state_names);
    /// Fills a new slot's state arrays (zeros unless overridden).
    virtual void init_state(const Var& param, Slot& slot) const;
    /// One update of `param` from `grad`; slot.steps already counts this step.
    virtual void update(const Group& group, Var& param, const Var& grad, Slot& slot) = 0;

private:
    const char* name_;
    std::vector<Group> groups_;
    std::vector<std::vector<Slot>> slots_;  // [group][param]
    std::vector<std::string> state_names_;
};

struct SGDOptions {
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

/// Stochastic gradient descent, with optional momentum (PyTorch's form b ← μb + (1 − dampening)g, p ← p − lr·b,
/// which equals v ← αv − ηg, p ← p + v while lr is constant) and Nesterov momentum.
class SGD : public Optimizer {
public:
    explicit SGD(std::vector<Var> params, SGDOptions options = {});
    SGD(std::vector<ParamGroup> groups, SGDOptions options = {});

protected:
    void update(const Group& group, Var& param, const Var& grad, Slot& slot) override;

private:
    SGDOptions options_;
};

struct MomentumOptions {
    double lr = 0.01;
    double momentum = 0.9;
    double dampening = 0.0;
    double weight_decay = 0.0;
};

/// SGD with momentum, by default lr 0.01 and momentum 0.9.
class Momentum : public SGD {
public:
    explicit Momentum(std::vector<Var> params, MomentumOptions options = {});
    Momentum(std::vector<ParamGroup> groups, MomentumOptions options = {});
};

/// SGD with Nesterov momentum: p ← p − lr·(g + μb) after b ← μb + g.
class Nesterov : public SGD {
public:
    explicit Nesterov(std::vector<Var> params, MomentumOptions options = {});
    Nesterov(std::vector<ParamGroup> groups, MomentumOptions options = {});
};

struct AdagradOptions {
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
};

/// AdaGrad: h ← h + g², p ← p − lr·g / (√h + eps).
class Adagrad : public Optimizer {
public:
    explicit Adagrad(std::vector<Var> params, AdagradOptions options = {});
    Adagrad(std::vector<ParamGroup> groups, AdagradOptions options = {});

protected:
    void init_state(const Var& param, Slot& slot) const override;
    void update(const Group& group, Var& param, const Var& grad, Slot& slot) override;

private:
    AdagradOptions options_;
};

struct RMSpropOptions {
    double lr = 0.01;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
};

/// RMSProp: v ← αv + (1 − α)g², p ← p − lr·g / (√v + eps).
class RMSprop : public Optimizer {
public:
    explicit RMSprop(std::vector<Var> params, RMSpropOptions options = {});
    RMSprop(std::vector<ParamGroup> groups, RMSpropOptions options = {});

protected:
    void update(const Group& group, Var& param, const Var& grad, Slot& slot) override;

private:
    RMSpropOptions options_;
};

struct AdamOptions {
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;  // L2: added to the gradient
};

/// Adam with bias correction: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
/// p ← p − lr·(m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + eps).
class Adam : public Optimizer {
public:
    explicit Adam(std::vector<Var> params, AdamOptions options = {});
    Adam(std::vector<ParamGroup> groups, AdamOptions options = {});

protected:
    Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options);
    void update(const Group& group, Var& param, const Var& grad, Slot& slot) override;
    /// Whether weight decay shrinks the parameter directly (AdamW) instead of joining the gradient.
    bool decoupled_ = false;

private:
    AdamOptions options_;
};

struct AdamWOptions {
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 1e-2;  // decoupled: p ← p − lr·weight_decay·p before the Adam step
};

/// Adam with decoupled weight decay (Loshchilov & Hutter).
class AdamW : public Adam {
public:
    explicit AdamW(std::vector<Var> params, AdamWOptions options = {});
    AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
};

/// Scales all gradients together so that their global `norm_type`-norm is at most max_norm (infinity for the
/// max-norm); returns the norm before clipping, as torch.nn.utils.clip_grad_norm_ does.
double clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm_type = 2.0);
/// Clamps every gradient element to [−clip_value, clip_value].
void clip_grad_value(const std::vector<Var>& params, double clip_value);

}  // namespace xg::optim
