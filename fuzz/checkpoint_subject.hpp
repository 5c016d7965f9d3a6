#pragma once
// The model, optimizer and schedule the checkpoint target loads into, shared with make_corpus so the seed
// checkpoint matches them entry for entry (weights, BatchNorm buffers, Adam state, schedule state).
#include <xgrad/xgrad.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace fuzz {

struct CheckpointNet : xg::nn::Module {
    std::shared_ptr<xg::nn::Linear> fc1, fc2;
    std::shared_ptr<xg::nn::BatchNorm1d> bn;
    explicit CheckpointNet(std::uint64_t seed) {
        xg::Generator g(seed);
        fc1 = register_module("fc1", xg::nn::Linear(3, 4, g));
        bn = register_module("bn", xg::nn::BatchNorm1d(4));
        fc2 = register_module("fc2", xg::nn::Linear(4, 2, g));
    }
    xg::Var forward(const xg::Var& x) override { return (*fc2)(xg::relu((*bn)((*fc1)(x)))); }
};

struct CheckpointSubject {
    CheckpointNet net;
    xg::optim::Adam adam;
    xg::optim::StepLR schedule;

    explicit CheckpointSubject(std::uint64_t seed)
        : net(seed), adam(net.parameters(), {.lr = 0.01}), schedule(adam, 2, 0.5) {}

    // One training step on fixed data, so whatever a checkpoint put into the state is also used.
    void train_step() {
        xg::Generator g(7);
        const xg::Var x = xg::randn({6, 3}, g);
        adam.zero_grad();
        xg::softmax_cross_entropy(net(x), std::vector<std::size_t>{0, 1, 1, 0, 1, 0}).backward();
        adam.step();
        schedule.step();
    }
};

}  // namespace fuzz
