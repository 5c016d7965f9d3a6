#pragma once
// Running the tape backwards, and the thread-local modes that control recording.
#include <xgrad/var.hpp>

#include <cstddef>
#include <functional>
#include <vector>

namespace xg {

struct BackwardOptions {
    /// Keep the graph so backward can run through it again. Otherwise each node's saved values are freed
    /// as soon as its gradient has been passed on, and a second backward is a GraphError.
    bool retain_graph = false;
    /// Record the backward pass itself, so the gradients are differentiable (grad of grad).
    /// Implies retain_graph.
    bool create_graph = false;
};

/// Accumulates d(root)/d(leaf) into the .grad of every leaf that requires grad (`+=`, like PyTorch).
/// A non-scalar root needs `output_gradient`, the gradient of some scalar with respect to root (same shape),
/// PyTorch's `gradient` argument.
void backward(const Var& root, const Var& output_gradient = Var(), BackwardOptions options = {});

/// Returns d(output)/d(input) for each of `inputs` (leaves or intermediate variables), without touching any
/// .grad. An input the output does not depend on gets a zero gradient. `output_gradient` as for backward.
std::vector<Var> grad(const Var& output, const std::vector<Var>& inputs, const Var& output_gradient = Var(),
                      BackwardOptions options = {});

/// While alive, ops on this thread record nothing (evaluation, optimizer updates).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// While alive, every forward value and every gradient on this thread is checked for NaN and Inf; the first
/// one found throws AnomalyError naming the op.
class DetectAnomalyGuard {
public:
    DetectAnomalyGuard();
    ~DetectAnomalyGuard();
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

bool is_grad_enabled();
bool is_anomaly_enabled();

/// Data parallelism over this machine's cores: runs work(part) for part = 0 … parts − 1 at the same time, part 0 on
/// the calling thread and the others on xgrad's worker threads (parts ≤ num_threads()), each recording on its own
/// tape. The gradients their backward passes compute for leaves are added into the leaves' .grad once every part
/// has finished, so .grad ends as if the parts had run one after another (up to rounding). Grad and anomaly mode are
/// the caller's in every part. The parts run at once: work may read shared variables but must not write them (no
/// optimizer step, zero_grad or module with state such as BatchNorm or Dropout in training), and must not call
/// xg::grad. An exception from a part is rethrown here, the lowest part's, once all parts have finished. fit uses
/// it to split each batch.
void parallel_backward(std::size_t parts, const std::function<void(std::size_t part)>& work);

/// Number of recorded ops on this thread's tape that are still alive and not yet released by backward.
std::size_t tape_size();

}  // namespace xg
