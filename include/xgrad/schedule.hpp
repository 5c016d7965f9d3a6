#pragma once
// Learning-rate schedules. A schedule remembers each group's learning rate when it is made (the base rate)
// and, after its t-th step(), sets every group's rate to its rate at t, mostly base · factor(t). Call step() once
// per batch or once per epoch: t counts whichever you choose. docs/optim.md gives each closed form.
// ReduceLROnPlateau, at the end, follows a metric instead of the step count.
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
    /// What a schedule computes: the rate at step t of a group whose base rate is `base`.
    using RateFunction = std::function<double(double base, std::size_t t)>;
    virtual ~LRScheduler() = default;

    /// Advances t by one and sets the optimizer's rates.
    void step();
    /// The first group's current rate.
    double lr() const;
    /// Every group's current rate.
    std::vector<double> lrs() const;
    /// How many times step() has run.
    std::size_t steps() const { return t_; }
    /// The first group's rate at step t, without changing anything (base_lr · factor(t) for a factor schedule).
    double lr_at(std::size_t t) const;
    /// The rate at step t of a group whose base rate is `base`: what composing schedules (LinearWarmup) calls.
    double rate(double base, std::size_t t) const { return rate_(base, t); }
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    const std::string& description() const { return description_; }

    /// "step" and "group<g>.base_lr" for each group, as float64 scalars.
    Named<Var> state_dict() const;
    /// Restores what state_dict gave. Checked before anything changes: the step count must be a whole number from
    /// 0 to 2^53, there must be one base rate per group, each a non-negative number, and nothing else. The first
    /// problem throws Error("<description>::load_state_dict: the state ..."). The rates in the optimizer are left
    /// as they are: its own state_dict holds them.
    void load_state_dict(const Named<Var>& state);

protected:
    /// For schedules whose rate is not a multiple of the base: cosine annealing's floor, OneCycle's peak. The base
    /// rates are the groups' current ones unless given (a composed schedule takes its inner schedule's).
    LRScheduler(Optimizer& optimizer, RateFunction rate, std::string description, std::vector<double> base_lrs = {});

private:
    void apply();

    Optimizer& optimizer_;
    RateFunction rate_;
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

/// eta_min + (lr − eta_min)·(1 + cos(π·t / t_max)) / 2: half a cosine from lr down to eta_min at t_max, then back up
/// (periodic, as PyTorch's closed form; t_max = the run's steps keeps it at the bottom half).
struct CosineAnnealingLR : LRScheduler {
    CosineAnnealingLR(Optimizer& optimizer, std::size_t t_max, double eta_min = 0.0);
};

/// SGDR (Loshchilov & Hutter): cosine annealing from lr to eta_min over a cycle of t_0 steps, then a restart at
/// lr; each cycle is t_mult times longer than the one before (PyTorch's CosineAnnealingWarmRestarts).
struct CosineAnnealingWarmRestarts : LRScheduler {
    CosineAnnealingWarmRestarts(Optimizer& optimizer, std::size_t t_0, std::size_t t_mult = 1, double eta_min = 0.0);
};

/// A linear warm-up in front of any schedule: lr · (start_factor + (1 − start_factor)·t / warmup_steps) for
/// t < warmup_steps, then `after`'s rate at t − warmup_steps (PyTorch's LinearLR followed by SequentialLR). `after`
/// is copied when this is made and never stepped: make it on the same optimizer just before, and step only this.
struct LinearWarmup : LRScheduler {
    LinearWarmup(Optimizer& optimizer, std::size_t warmup_steps, const LRScheduler& after, double start_factor = 0.0);
};

/// The 1cycle policy (Smith & Topin), stepped once per batch: from max_lr / div_factor up to max_lr over the first
/// pct_start of total_steps, then down to max_lr / (div_factor · final_div_factor) at total_steps, both halves
/// cosine-shaped, as PyTorch's OneCycleLR with anneal_strategy "cos". max_lr replaces every group's rate; momentum
/// is not cycled. Stepping past total_steps is an Error, as in PyTorch.
struct OneCycleLR : LRScheduler {
    OneCycleLR(Optimizer& optimizer, double max_lr, std::size_t total_steps, double pct_start = 0.3,
               double div_factor = 25.0, double final_div_factor = 1e4);
};

/// lr · factor(t) for any function, like PyTorch's LambdaLR.
struct LambdaLR : LRScheduler {
    LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> factor);
};

struct ReduceLROnPlateauOptions {
    /// Whether the watched metric should fall (a loss) or rise (an accuracy).
    enum class Mode { min, max };
    Mode mode = Mode::min;
    /// Each reduction multiplies every group's rate by this (in (0, 1)).
    double factor = 0.1;
    /// Steps without improvement tolerated; the next one reduces the rate.
    std::size_t patience = 10;
    /// An improvement must beat the best by this much: relatively (best·(1 ∓ threshold)), or absolutely
    /// (best ∓ threshold) when relative_threshold is false.
    double threshold = 1e-4;
    bool relative_threshold = true;
    /// Steps after a reduction during which the count of bad steps stays at 0.
    std::size_t cooldown = 0;
    /// No group's rate goes below this.
    double min_lr = 0.0;
    /// A reduction smaller than this is skipped.
    double eps = 1e-8;
};

/// Lowers the rates when a metric stops improving, as PyTorch's ReduceLROnPlateau: step(metric) once per epoch
/// with the validation loss (fit does it through FitOptions::reduce_lr_on_plateau). Not a function of the step
/// count, so it is not an LRScheduler; it keeps no base rates and changes the optimizer's rates in place.
class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});

    /// Records one value of the watched metric and reduces the rates when it has not improved for more than
    /// `patience` steps. A NaN metric is an Error (it would count as "not better" and lower the rate silently).
    void step(double metric);
    /// The first group's current rate.
    double lr() const;
    double best() const { return best_; }
    /// Steps since the last improvement (0 during cooldown).
    std::size_t bad_steps() const { return bad_steps_; }
    const ReduceLROnPlateauOptions& options() const { return options_; }

    /// "best", "bad_steps" and "cooldown_left" as float64 scalars (the rates are the optimizer's).
    Named<Var> state_dict() const;
    /// Restores what state_dict gave, checked entry by entry before anything changes.
    void load_state_dict(const Named<Var>& state);

private:
    bool is_better(double metric) const;

    Optimizer& optimizer_;
    ReduceLROnPlateauOptions options_;
    double best_;
    std::size_t bad_steps_ = 0, cooldown_left_ = 0;
};

}  // namespace xg::optim
