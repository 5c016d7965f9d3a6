// Training steps built from xg::nn modules and xg::optim optimizers, the same workloads as
// pytorch_reference.py: the seeds' MNIST two-layer network (784-50-10, batch 100) with SGD and with Adam,
// with a BatchNorm1d layer, and an optimizer step alone. Run single-threaded:
//   OPENBLAS_NUM_THREADS=1 build/bench/bench_nn
#include <xgrad/xgrad.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

namespace {

namespace nn = xg::nn;
namespace optim = xg::optim;

struct Batch {
    xg::Var x;
    std::vector<std::size_t> labels;
    explicit Batch(xg::Generator& generator) : x(xg::rand({100, 784}, generator)) {
        for (int i = 0; i < 100; ++i) labels.push_back(generator.below(10));
    }
};

template <class Optimizer>
void train_steps(benchmark::State& state, nn::Module& model, Optimizer& optimizer, const Batch& batch) {
    for (auto _ : state) {
        optimizer.zero_grad();
        xg::softmax_cross_entropy(model(batch.x), batch.labels).backward();
        optimizer.step();
    }
}

void mnist_step_sgd(benchmark::State& state) {
    xg::Generator generator(1);
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train_steps(state, model, sgd, Batch(generator));
}
BENCHMARK(mnist_step_sgd);

void mnist_step_adam(benchmark::State& state) {
    xg::Generator generator(1);
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    optim::Adam adam(model.parameters(), {.lr = 1e-3});
    train_steps(state, model, adam, Batch(generator));
}
BENCHMARK(mnist_step_adam);

void mnist_step_batchnorm_sgd(benchmark::State& state) {
    xg::Generator generator(1);
    nn::Sequential model(nn::Linear(784, 50, generator), nn::BatchNorm1d(50), nn::ReLU(),
                         nn::Linear(50, 10, generator));
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    train_steps(state, model, sgd, Batch(generator));
}
BENCHMARK(mnist_step_batchnorm_sgd);

// Adam's update of the network's 39,760 parameters alone, gradients already in place.
void adam_update_only(benchmark::State& state) {
    xg::Generator generator(1);
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    optim::Adam adam(model.parameters(), {.lr = 1e-3});
    const Batch batch(generator);
    xg::softmax_cross_entropy(model(batch.x), batch.labels).backward();
    for (auto _ : state) adam.step();
}
BENCHMARK(adam_update_only);

}  // namespace

BENCHMARK_MAIN();
