#pragma once
// How checkpoints and find_lr reach an optimizer's per-parameter state, which users never touch directly.
#include <xgrad/optim.hpp>

namespace xg::optim {

struct OptimizerAccess {
    using Slot = Optimizer::Slot;
    static std::vector<std::vector<Slot>>& slots(Optimizer& o) { return o.slots_; }
    static const std::vector<std::vector<Slot>>& slots(const Optimizer& o) { return o.slots_; }
    static void init_state(const Optimizer& o, const Var& param, Slot& slot) { o.init_state(param, slot); }
};

}  // namespace xg::optim
