// One MNIST-sized epoch (60,000 rows of 784, batches of 100) of the seeds' two-layer network: the DataLoader's
// gathering alone, and a whole xg::fit epoch (shuffle, gather, forward, backward, SGD step, running loss and
// accuracy). pytorch_reference.py runs the same epoch with torch's DataLoader and with index slicing. Run
// single-threaded:
//   OPENBLAS_NUM_THREADS=1 build/bench/bench_train
#include <xgrad/xgrad.hpp>

#include <benchmark/benchmark.h>

namespace {

namespace data = xg::data;

const data::Dataset& random_mnist() {
    static const data::Dataset d = [] {
        xg::Generator generator(1);
        data::Dataset out;
        out.inputs = xg::rand({60000, 784}, generator).value<float>();
        for (int i = 0; i < 60000; ++i) out.labels.push_back(generator.below(10));
        out.num_classes = 10;
        return out;
    }();
    return d;
}

void loader_epoch(benchmark::State& state) {
    data::DataLoader loader(random_mnist(), {.batch_size = 100, .shuffle = true, .seed = 2});
    for (auto _ : state)
        for (const data::Batch& batch : loader) benchmark::DoNotOptimize(batch.inputs.value<float>().data());
}
BENCHMARK(loader_epoch)->Unit(benchmark::kMillisecond);

void fit_epoch(benchmark::State& state) {
    xg::Generator generator(3);
    xg::nn::Sequential model(xg::nn::Linear(784, 50, generator), xg::nn::ReLU(), xg::nn::Linear(50, 10, generator));
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    xg::FitOptions options;
    options.epochs = 1;
    options.loader = {.batch_size = 100, .shuffle = true, .seed = 4};
    options.progress = xg::Progress::none;
    for (auto _ : state) xg::fit(model, sgd, random_mnist(), options);
}
BENCHMARK(fit_epoch)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
