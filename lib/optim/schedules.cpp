// Learning-rate schedules: each is a rate(base, t) (mostly base · factor(t)) and a description; the base class
// applies it to the groups. ReduceLROnPlateau, at the end, reacts to a metric instead.
#include "optim/state_entries.hpp"

#include <xgrad/schedule.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace xg::optim {

namespace {
// Checks a setting before the base class first evaluates the factor with it.
template <class T>
T checked(T value, bool ok, const char* message) {
    if (!ok) throw Error(message);
    return value;
}
}  // namespace

namespace {
LRScheduler::RateFunction times_base(std::function<double(std::size_t)> factor, const std::string& description) {
    if (!factor) throw Error(description + ": empty factor function");
    return [factor = std::move(factor)](double base, std::size_t t) { return base * factor(t); };
}
}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, std::function<double(std::size_t)> factor, std::string description)
    : LRScheduler(optimizer, times_base(std::move(factor), description), description) {}

LRScheduler::LRScheduler(Optimizer& optimizer, RateFunction rate, std::string description, std::vector<double> base_lrs)
    : optimizer_(optimizer), rate_(std::move(rate)), description_(std::move(description)), base_lrs_(std::move(base_lrs)) {
    if (!rate_) throw Error(description_ + ": empty rate function");
    if (base_lrs_.empty())
        for (const auto& group : optimizer_.param_groups()) base_lrs_.push_back(group.lr);
    apply();
}

void LRScheduler::step() {
    ++t_;
    apply();
}

void LRScheduler::apply() {
    auto& groups = optimizer_.param_groups();
    if (groups.size() != base_lrs_.size())
        throw Error(fmt::format("{}: the optimizer had {} parameter groups and now has {}", description_,
                                base_lrs_.size(), groups.size()));
    std::vector<double> rates;
    for (const double base : base_lrs_) {
        rates.push_back(rate_(base, t_));
        if (!is_finite_non_negative(rates.back()))
            throw Error(fmt::format("{}: rate {} at step {} is not a finite non-negative number", description_,
                                    rates.back(), t_));
    }
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].lr = rates[g];
}

double LRScheduler::lr() const { return optimizer_.param_groups().front().lr; }

std::vector<double> LRScheduler::lrs() const {
    std::vector<double> out;
    for (const auto& group : optimizer_.param_groups()) out.push_back(group.lr);
    return out;
}

double LRScheduler::lr_at(std::size_t t) const { return rate_(base_lrs_.front(), t); }

Named<Var> LRScheduler::state_dict() const {
    Named<Var> out{{"step", Var(static_cast<double>(t_))}};
    for (std::size_t g = 0; g < base_lrs_.size(); ++g)
        out.emplace_back(fmt::format("group{}.base_lr", g), Var(base_lrs_[g]));
    return out;
}

void LRScheduler::load_state_dict(const Named<Var>& state) {
    StateEntries entries(fmt::format("LRScheduler::load_state_dict: the state of {}", description_), state);
    const std::uint64_t steps = entries.step_count("step");
    std::vector<double> base_lrs;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g)
        base_lrs.push_back(entries.learning_rate(fmt::format("group{}.base_lr", g)));
    entries.refuse_unused("schedule");
    t_ = steps;
    base_lrs_ = std::move(base_lrs);
}

FixedLR::FixedLR(Optimizer& optimizer) : LRScheduler(optimizer, [](std::size_t) { return 1.0; }, "FixedLR") {}

StepLR::StepLR(Optimizer& optimizer, std::size_t step_size, double gamma)
    : LRScheduler(
          optimizer,
          [step_size = checked(step_size, step_size > 0, "StepLR: step_size must be positive"),
           gamma = checked(gamma, gamma >= 0.0, "StepLR: gamma must be non-negative")](std::size_t t) {
              return std::pow(gamma, static_cast<double>(t / step_size));
          },
          fmt::format("StepLR(step_size={}, gamma={})", step_size, gamma)) {}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma)
    : LRScheduler(
          optimizer,
          [milestones = checked(milestones, std::is_sorted(milestones.begin(), milestones.end()),
                                "MultiStepLR: milestones must be ascending"),
           gamma = checked(gamma, gamma >= 0.0, "MultiStepLR: gamma must be non-negative")](std::size_t t) {
              const auto passed = std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
              return std::pow(gamma, static_cast<double>(passed));
          },
          fmt::format("MultiStepLR(milestones={}, gamma={})", fmt::join(milestones, ","), gamma)) {}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(
          optimizer,
          [gamma = checked(gamma, gamma >= 0.0, "ExponentialLR: gamma must be non-negative")](std::size_t t) {
              return std::pow(gamma, static_cast<double>(t));
          },
          fmt::format("ExponentialLR(gamma={})", gamma)) {}

InversePowerLR::InversePowerLR(Optimizer& optimizer, double gamma, double power)
    : LRScheduler(
          optimizer,
          [gamma = checked(gamma, gamma >= 0.0, "InversePowerLR: gamma must be non-negative"), power](std::size_t t) {
              return std::pow(1.0 + gamma * static_cast<double>(t), -power);
          },
          fmt::format("InversePowerLR(gamma={}, power={})", gamma, power)) {}

PolynomialLR::PolynomialLR(Optimizer& optimizer, std::size_t total_steps, double power)
    : LRScheduler(
          optimizer,
          [total_steps = checked(total_steps, total_steps > 0, "PolynomialLR: total_steps must be positive"),
           power = checked(power, power >= 0.0, "PolynomialLR: power must be non-negative")](std::size_t t) {
              const double done = static_cast<double>(std::min(t, total_steps)) / static_cast<double>(total_steps);
              return std::pow(1.0 - done, power);
          },
          fmt::format("PolynomialLR(total_steps={}, power={})", total_steps, power)) {}

InverseTimeLR::InverseTimeLR(Optimizer& optimizer, double decay_rate)
    : LRScheduler(
          optimizer,
          [decay_rate = checked(decay_rate, decay_rate >= 0.0, "InverseTimeLR: decay_rate must be non-negative")](
              std::size_t t) { return 1.0 / (1.0 + decay_rate * static_cast<double>(t)); },
          fmt::format("InverseTimeLR(decay_rate={})", decay_rate)) {}

InverseSqrtLR::InverseSqrtLR(Optimizer& optimizer, double k)
    : LRScheduler(
          optimizer,
          [k = checked(k, k >= 0.0, "InverseSqrtLR: k must be non-negative")](std::size_t t) {
              return k / std::sqrt(static_cast<double>(t) + 1.0);
          },
          fmt::format("InverseSqrtLR(k={})", k)) {}

namespace {
// Half a cosine from `from` (at done = 0) to `to` (at done = 1).
double cosine_between(double from, double to, double done) {
    return to + (from - to) * (1.0 + std::cos(std::numbers::pi * done)) / 2.0;
}
}  // namespace

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::size_t t_max, double eta_min)
    : LRScheduler(
          optimizer,
          RateFunction([t_max = checked(t_max, t_max > 0, "CosineAnnealingLR: t_max must be positive"),
                        eta_min = checked(eta_min, is_finite_non_negative(eta_min),
                                          "CosineAnnealingLR: eta_min must be a non-negative number")](
                           double base, std::size_t t) {
              return cosine_between(base, eta_min, static_cast<double>(t) / static_cast<double>(t_max));
          }),
          fmt::format("CosineAnnealingLR(t_max={}, eta_min={})", t_max, eta_min)) {}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, std::size_t t_0, std::size_t t_mult,
                                                         double eta_min)
    : LRScheduler(
          optimizer,
          RateFunction([t_0 = checked(t_0, t_0 > 0, "CosineAnnealingWarmRestarts: t_0 must be positive"),
                        t_mult = checked(t_mult, t_mult > 0, "CosineAnnealingWarmRestarts: t_mult must be positive"),
                        eta_min = checked(eta_min, is_finite_non_negative(eta_min),
                                          "CosineAnnealingWarmRestarts: eta_min must be a non-negative number")](
                           double base, std::size_t t) {
              // Counted in whole steps, so a restart lands exactly on its step; cycles grow geometrically, so
              // the loop runs O(log t) times when t_mult > 1.
              std::size_t cycle = t_0, into = t;
              if (t_mult == 1) {
                  into = t % t_0;
              } else {
                  while (into >= cycle) {
                      into -= cycle;
                      cycle *= t_mult;
                  }
              }
              return cosine_between(base, eta_min, static_cast<double>(into) / static_cast<double>(cycle));
          }),
          fmt::format("CosineAnnealingWarmRestarts(t_0={}, t_mult={}, eta_min={})", t_0, t_mult, eta_min)) {}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::size_t warmup_steps, const LRScheduler& after,
                           double start_factor)
    : LRScheduler(
          optimizer,
          RateFunction([warmup_steps = checked(warmup_steps, warmup_steps > 0, "LinearWarmup: warmup_steps must be positive"),
                        start_factor = checked(start_factor, start_factor >= 0.0 && start_factor <= 1.0,
                                               "LinearWarmup: start_factor must be in [0, 1]"),
                        after](double base, std::size_t t) {
              if (t >= warmup_steps) return after.rate(base, t - warmup_steps);
              return base * (start_factor + (1.0 - start_factor) * static_cast<double>(t) /
                                                static_cast<double>(warmup_steps));
          }),
          fmt::format("LinearWarmup(warmup_steps={}, start_factor={}, then {})", warmup_steps, start_factor,
                      after.description()),
          after.base_lrs()) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::size_t total_steps, double pct_start,
                       double div_factor, double final_div_factor)
    : LRScheduler(
          optimizer,
          RateFunction([max_lr = checked(max_lr, is_finite_non_negative(max_lr),
                                         "OneCycleLR: max_lr must be a non-negative number"),
                        total_steps = checked(total_steps, total_steps >= 2, "OneCycleLR: total_steps must be at least 2"),
                        pct_start = checked(pct_start, pct_start > 0.0 && pct_start < 1.0,
                                            "OneCycleLR: pct_start must be in (0, 1)"),
                        div_factor = checked(div_factor, div_factor >= 1.0 && std::isfinite(div_factor),
                                             "OneCycleLR: div_factor must be a number of at least 1"),
                        final_div_factor = checked(final_div_factor,
                                                   final_div_factor >= 1.0 && std::isfinite(final_div_factor),
                                                   "OneCycleLR: final_div_factor must be a number of at least 1")](
                           double, std::size_t t) {
              if (t > total_steps)
                  throw Error(fmt::format("OneCycleLR: stepped {} times; total_steps is {}", t, total_steps));
              // PyTorch's phase boundaries, to the step: the peak is reached at step pct_start·total − 1.
              const double initial = max_lr / div_factor, final = initial / final_div_factor;
              const double peak = pct_start * static_cast<double>(total_steps) - 1.0;
              const double last = static_cast<double>(total_steps) - 1.0, step = static_cast<double>(t);
              if (step <= peak) return cosine_between(initial, max_lr, step / peak);
              return cosine_between(max_lr, final, (step - peak) / (last - peak));
          }),
          fmt::format("OneCycleLR(max_lr={}, total_steps={}, pct_start={}, div_factor={}, final_div_factor={})",
                      max_lr, total_steps, pct_start, div_factor, final_div_factor)) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> factor)
    : LRScheduler(optimizer, std::move(factor), "LambdaLR") {}

// ReduceLROnPlateau ------------------------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), options_(options) {
    if (!(options_.factor > 0.0 && options_.factor < 1.0))
        throw Error(fmt::format("ReduceLROnPlateau: factor must be in (0, 1), got {}", options_.factor));
    require_non_negative("ReduceLROnPlateau", "threshold", options_.threshold);
    require_non_negative("ReduceLROnPlateau", "min_lr", options_.min_lr);
    require_non_negative("ReduceLROnPlateau", "eps", options_.eps);
    best_ = options_.mode == ReduceLROnPlateauOptions::Mode::min ? std::numeric_limits<double>::infinity()
                                                                 : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double metric) const {
    const bool rel = options_.relative_threshold;
    if (options_.mode == ReduceLROnPlateauOptions::Mode::min)
        return metric < (rel ? best_ * (1.0 - options_.threshold) : best_ - options_.threshold);
    return metric > (rel ? best_ * (1.0 + options_.threshold) : best_ + options_.threshold);
}

void ReduceLROnPlateau::step(double metric) {
    if (std::isnan(metric))
        throw Error("ReduceLROnPlateau::step: the metric is NaN (a diverged run?); the rates were left as they are");
    if (is_better(metric)) {
        best_ = metric;
        bad_steps_ = 0;
    } else {
        ++bad_steps_;
    }
    if (cooldown_left_ > 0) {
        --cooldown_left_;
        bad_steps_ = 0;
    }
    if (bad_steps_ > options_.patience) {
        for (auto& group : optimizer_.param_groups()) {
            const double lowered = std::max(group.lr * options_.factor, options_.min_lr);
            if (group.lr - lowered > options_.eps) group.lr = lowered;
        }
        cooldown_left_ = options_.cooldown;
        bad_steps_ = 0;
    }
}

double ReduceLROnPlateau::lr() const { return optimizer_.param_groups().front().lr; }

Named<Var> ReduceLROnPlateau::state_dict() const {
    return {{"best", Var(best_)},
            {"bad_steps", Var(static_cast<double>(bad_steps_))},
            {"cooldown_left", Var(static_cast<double>(cooldown_left_))}};
}

void ReduceLROnPlateau::load_state_dict(const Named<Var>& state) {
    StateEntries entries("ReduceLROnPlateau::load_state_dict: the state", state);
    const double best = entries.number("best");
    const std::uint64_t bad_steps = entries.step_count("bad_steps");
    const std::uint64_t cooldown_left = entries.step_count("cooldown_left");
    entries.refuse_unused("ReduceLROnPlateau");
    best_ = best;
    bad_steps_ = bad_steps;
    cooldown_left_ = cooldown_left;
}

}  // namespace xg::optim
