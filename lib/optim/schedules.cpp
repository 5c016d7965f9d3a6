// Learning-rate schedules: each is a factor(t) and a description; the base class applies it to the groups.
#include "optim/state_entries.hpp"

#include <xgrad/schedule.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace xg::optim {

namespace {
// Checks a setting before the base class first evaluates the factor with it.
template <class T>
T checked(T value, bool ok, const char* message) {
    if (!ok) throw Error(message);
    return value;
}
}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, std::function<double(std::size_t)> factor, std::string description)
    : optimizer_(optimizer), factor_(std::move(factor)), description_(std::move(description)) {
    if (!factor_) throw Error(description_ + ": empty factor function");
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
    const double factor = factor_(t_);
    if (!(factor >= 0.0) || std::isinf(factor))
        throw Error(fmt::format("{}: factor {} at step {} is not a finite non-negative number", description_, factor, t_));
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].lr = base_lrs_[g] * factor;
}

double LRScheduler::lr() const { return optimizer_.param_groups().front().lr; }

std::vector<double> LRScheduler::lrs() const {
    std::vector<double> out;
    for (const auto& group : optimizer_.param_groups()) out.push_back(group.lr);
    return out;
}

double LRScheduler::lr_at(std::size_t t) const { return base_lrs_.front() * factor_(t); }

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

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> factor)
    : LRScheduler(optimizer, std::move(factor), "LambdaLR") {}

}  // namespace xg::optim
