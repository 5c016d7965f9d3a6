#pragma once
// Learning-rate schedules. A schedule remembers each group's learning rate when it is made (the base rate)
// and, after its t-th step(), sets every group's rate to base · factor(t). Call step() once per batch or
// once per epoch: t counts whichever you choose. docs/optim.md gives each closed form.
#include <xgrad/optim.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace xg::optim {

class LRScheduler {
public:
    /// base · factor(t) for every group; factor(0) applies at once.
    LRScheduler(Optimizer& optimizer, std::function<double(std::size_t)> factor, std::string description);
    virtual ~LRScheduler() = default;

    /// Advances t by one and sets the optimizer's rates.
    void step();
    /// The first group's current rate.
    double lr() const;
    /// Every group's current rate.
    std::vector<double> lrs() const;
    /// How many times step() has run.
    std::size_t steps() const { return t_; }
    /// The rate factor(t) gives, for any t, without changing anything: lr_at(t) = base_lr · factor(t).
    double lr_at(std::size_t t) const;
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    const std::string& description() const { return description_; }

    /// "step" and "group<g>.base_lr" for each group, as float64 scalars.
    Named<Var> state_dict() const;
    /// Restores what state_dict gave. Checked before anything changes: the step count must be a whole number from
    /// 0 to 2^53, there must be one base rate per group, each a non-negative number, and nothing else. The first
    /// problem throws Error("<description>::load_state_dict: the state ..."). The rates in the optimizer are left
    /// as they are: its own state_dict holds them.
    void load_state_dict(const Named<Var>& state);

private:
    void apply();

    Optimizer& optimizer_;
    std::function<double(std::size_t)> factor_;
    std::string description_;
    std::vector<double> base_lrs_;
    std::size_t t_ = 0;
};

/// lr (the constant schedule; Caffe's "fixed").
struct FixedLR : LRScheduler {
    explicit FixedLR(Optimizer& optimizer);
};

/// lr · gamma^⌊t / step_size⌋ (Caffe's "step").
struct StepLR : LRScheduler {
    StepLR(Optimizer& optimizer, std::size_t step_size, double gamma = 0.1);
};

/// lr · gamma^(number of milestones ≤ t) (Caffe's "multistep"); milestones ascending.
struct MultiStepLR : LRScheduler {
    MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma = 0.1);
};

/// lr · gamma^t (Caffe's "exp").
struct ExponentialLR : LRScheduler {
    ExponentialLR(Optimizer& optimizer, double gamma);
};

/// lr · (1 + gamma·t)^(−power) (Caffe's "inv").
struct InversePowerLR : LRScheduler {
    InversePowerLR(Optimizer& optimizer, double gamma, double power);
};

/// lr · (1 − min(t, total_steps) / total_steps)^power (Caffe's "poly"): reaches 0 at total_steps.
struct PolynomialLR : LRScheduler {
    PolynomialLR(Optimizer& optimizer, std::size_t total_steps, double power = 1.0);
};

/// lr / (1 + decay_rate · t) (inverse-time decay, Ng's 1 / (1 + decay-rate · epoch-num)).
struct InverseTimeLR : LRScheduler {
    InverseTimeLR(Optimizer& optimizer, double decay_rate);
};

/// lr · k / √(t + 1) (Ng's k / √epoch-num with epochs counted from 1).
struct InverseSqrtLR : LRScheduler {
    explicit InverseSqrtLR(Optimizer& optimizer, double k = 1.0);
};

/// lr · factor(t) for any function, like PyTorch's LambdaLR.
struct LambdaLR : LRScheduler {
    LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> factor);
};

}  // namespace xg::optim
