// The learning-rate range test: snapshot, sweep, restore.
#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/lr_finder.hpp>

#include <fmt/core.h>

#include <cmath>
#include <limits>

namespace xg {

namespace {

// Everything find_lr changes, copied so it can be put back bit for bit.
struct Snapshot {
    std::vector<std::pair<Var, Var>> arrays;  // live array, saved copy
    Named<Var> optimizer_state;

    Snapshot(nn::Module& model, optim::Optimizer& optimizer) : optimizer_state(optimizer.state_dict()) {
        // Training changes the optimizer's parameters (below) and the model's buffers; nothing else.
        for (const auto& [name, v] : model.named_buffers()) arrays.emplace_back(v, v.detach());
        for (const auto& group : optimizer.param_groups())
            for (const Var& p : group.params) arrays.emplace_back(p, p.detach());
    }

    void restore(nn::Module& model, optim::Optimizer& optimizer) {
        for (auto& [live, saved] : arrays) live.copy_from(saved);
        optimizer.load_state_dict(optimizer_state);
        model.zero_grad();
        optimizer.zero_grad();
    }
};

// Least-squares slope of y[first..last] against x[first..last].
double slope(const std::vector<double>& x, const std::vector<double>& y, std::size_t first, std::size_t last) {
    const auto n = static_cast<double>(last - first + 1);
    double mean_x = 0.0, mean_y = 0.0;
    for (std::size_t i = first; i <= last; ++i) {
        mean_x += x[i] / n;
        mean_y += y[i] / n;
    }
    double xy = 0.0, xx = 0.0;
    for (std::size_t i = first; i <= last; ++i) {
        xy += (x[i] - mean_x) * (y[i] - mean_y);
        xx += (x[i] - mean_x) * (x[i] - mean_x);
    }
    return xy / xx;
}

// Fills smoothed_losses, min_loss_lr and suggested_lr from the raw curve.
void read_curve(FindLRResult& result, std::size_t window) {
    const std::size_t n = result.losses.size(), half = window / 2;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t first = i >= half ? i - half : 0, last = std::min(n - 1, i + half);
        double sum = 0.0;
        for (std::size_t j = first; j <= last; ++j) sum += result.losses[j];
        result.smoothed_losses.push_back(sum / static_cast<double>(last - first + 1));
    }
    std::size_t minimum = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (result.smoothed_losses[i] < result.smoothed_losses[minimum]) minimum = i;
    result.min_loss_lr = result.lrs[minimum];

    std::vector<double> log_lrs;
    for (double lr : result.lrs) log_lrs.push_back(std::log10(lr));
    double steepest = 0.0;
    result.suggested_lr = result.min_loss_lr / 10.0;
    for (std::size_t i = half; i <= minimum && i + half < n; ++i) {
        const double s = slope(log_lrs, result.losses, i - half, i + half);
        if (s < steepest) {
            steepest = s;
            result.suggested_lr = result.lrs[i];
        }
    }
}

}  // namespace

FindLRResult find_lr(nn::Module& model, optim::Optimizer& optimizer,
                     const std::function<Var(std::size_t)>& batch_loss, FindLROptions options) {
    if (!(options.min_lr > 0.0 && options.max_lr > options.min_lr))
        throw Error(fmt::format("find_lr: need 0 < min_lr < max_lr, got {} and {}", options.min_lr, options.max_lr));
    if (options.steps < 2) throw Error(fmt::format("find_lr: steps must be at least 2, got {}", options.steps));
    if (!(options.smoothing >= 0.0 && options.smoothing < 1.0))
        throw Error(fmt::format("find_lr: smoothing must be in [0, 1), got {}", options.smoothing));
    if (!(options.divergence > 1.0))
        throw Error(fmt::format("find_lr: divergence must be greater than 1, got {}", options.divergence));
    if (options.window != 0 && (options.window < 3 || options.window % 2 == 0))
        throw Error(fmt::format("find_lr: window must be 0 or an odd number of at least 3, got {}", options.window));
    const std::size_t window = options.window != 0 ? options.window : std::max<std::size_t>(5, options.steps / 10) | 1;

    Snapshot snapshot(model, optimizer);
    FindLRResult result;
    try {
        const double growth = std::pow(options.max_lr / options.min_lr, 1.0 / static_cast<double>(options.steps - 1));
        double average = 0.0, best = std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < options.steps; ++i) {
            const double lr = options.min_lr * std::pow(growth, static_cast<double>(i));
            optimizer.set_lr(lr);
            optimizer.zero_grad();
            Var loss = batch_loss(i);
            const double value = loss.item();
            result.lrs.push_back(lr);
            result.losses.push_back(value);
            average = options.smoothing * average + (1.0 - options.smoothing) * value;
            const double running = average / (1.0 - std::pow(options.smoothing, static_cast<double>(i + 1)));
            if (!std::isfinite(value) || (i > 0 && running > options.divergence * best)) {
                result.diverged = true;
                break;
            }
            best = std::min(best, running);
            backward(loss);
            optimizer.step();
        }
    } catch (...) {
        snapshot.restore(model, optimizer);
        throw;
    }
    snapshot.restore(model, optimizer);

    read_curve(result, window);
    return result;
}

}  // namespace xg
