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
    /// Exponential smoothing of the loss while sweeping, debiased (avg / (1 − smoothing^(i+1))): the sweep stops
    /// once that running average exceeds `divergence` times its minimum, or a loss is not finite.
    double smoothing = 0.98;
    double divergence = 4.0;
    /// Points in the centred window that smooths the finished curve and measures its slope (odd, at least 3;
    /// 0: a tenth of `steps`, at least 5). Centred, so the curve does not lag behind the rate as a running
    /// average does.
    std::size_t window = 0;
};

struct FindLRResult {
    std::vector<double> lrs;              // the rate of each step taken
    std::vector<double> losses;           // the loss each step computed, before its update
    std::vector<double> smoothed_losses;  // the mean loss over the centred window: the curve to plot against log lr
    /// The rate where the loss falls fastest: the steepest negative slope against log lr of a straight line fitted
    /// to the losses of the window around it, among points before the smoothed minimum whose window is whole (so
    /// the first and last half windows, the noisy warm-up included, never win). A good starting rate. When no
    /// such point falls, a tenth of min_loss_lr.
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
