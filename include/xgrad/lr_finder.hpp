#pragma once
// The learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural Networks").
#include <xgrad/nn.hpp>
#include <xgrad/optim.hpp>

#include <cstddef>
#include <functional>
#include <vector>

namespace xg {

struct FindLROptions {
    double min_lr = 1e-7;
    double max_lr = 10.0;
    /// Mini-batches in the sweep; the rate grows by (max_lr / min_lr)^(1 / (steps − 1)) after each.
    std::size_t steps = 100;
    /// Exponential smoothing of the loss, debiased: smoothed = avg / (1 − smoothing^(i+1)).
    double smoothing = 0.98;
    /// Stop once the smoothed loss exceeds this multiple of its minimum (or the loss is not finite).
    double divergence = 4.0;
};

struct FindLRResult {
    std::vector<double> lrs;              // the rate of each step taken
    std::vector<double> losses;           // the loss each step computed, before its update
    std::vector<double> smoothed_losses;  // the curve to plot against log lr
    /// The rate where the smoothed loss falls fastest (steepest negative slope against log lr, before the
    /// minimum): a good starting rate.
    double suggested_lr = 0.0;
    /// The rate at the minimum of the smoothed loss (too high to train with; an upper bound).
    double min_loss_lr = 0.0;
    bool diverged = false;
};

/// Trains with an exponentially growing rate, one mini-batch per step: `batch_loss(i)` computes the loss of
/// the i-th mini-batch (the function need not call backward). Afterwards the model's parameters and buffers
/// and the optimizer's state and rates are exactly as before, and gradients are zero.
FindLRResult find_lr(nn::Module& model, optim::Optimizer& optimizer,
                     const std::function<Var(std::size_t step)>& batch_loss, FindLROptions options = {});

}  // namespace xg
