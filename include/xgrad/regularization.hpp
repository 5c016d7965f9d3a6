#pragma once
// Penalties built from differentiable ops: add them to the loss and backward gives their gradient.
#include <xgrad/var.hpp>

#include <vector>

namespace xg {

/// λ/2 · Σ‖W‖² over the parameters (L2 weight decay as a penalty). 1-D parameters (biases, BatchNorm's γ and β)
/// are left out unless include_1d is true. A scalar in the parameters' dtype (float64 0 if none count).
Var l2_penalty(const std::vector<Var>& parameters, double lambda, bool include_1d = false);
/// λ · Σ|W| over the parameters, with the same rule for 1-D parameters.
Var l1_penalty(const std::vector<Var>& parameters, double lambda, bool include_1d = false);

}  // namespace xg
