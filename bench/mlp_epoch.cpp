// Trains an MLP on MNIST with xg::fit and prints machine-readable lines, for compare.py (which runs PyTorch on the
// same network and the GEMM floor, gemm_floor.cpp, beside it):
//   mlp_epoch --data ~/.cache/xgrad/mnist --layers 784,50,10 --activation relu --batch 100 --lr 0.1 --epochs 3
//   epoch=1 seconds=1.2345 train_loss=0.3456
//   test_accuracy=0.9612
//   evaluate_seconds=0.0098 forward_products_seconds=0.0089   (the test set: evaluate, and its matrix products alone)
// --activation sigmoid-tanh is the 784-64-16-10 network of the seeds: Sigmoid after the first hidden layer, Tanh
// after the second. --steps K instead trains K steps and prints the resident memory they add:
//   memory baseline_kib=... peak_kib=... increase_kib=...
#include "training.hpp"

#include <xgrad/xgrad.hpp>

#include <xtensor/xview.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = xg::nn;

struct Options : TrainingOptions {
    Options() : TrainingOptions(0.1) {}

    std::vector<std::size_t> layers = {784, 50, 10};
    std::string activation = "relu";
    std::size_t steps = 0;  // 0: train epochs; else measure the memory of this many steps
};

Options parse(int argc, char** argv) {
    Options o;
    Flags flags(argc, argv);
    std::string layers;
    flags.read("--layers", layers);
    if (!layers.empty()) o.layers = parse_layers(layers);
    flags.read("--activation", o.activation);
    flags.read("--steps", o.steps);
    o.read(flags);
    flags.finish();
    if (o.activation != "relu" && o.activation != "sigmoid-tanh")
        throw std::invalid_argument("--activation is relu or sigmoid-tanh");
    if (o.activation == "sigmoid-tanh" && o.layers.size() != 4)
        throw std::invalid_argument("--activation sigmoid-tanh needs two hidden layers, e.g. 784,64,16,10");
    return o;
}

// Linear layers with the activation between them (none after the last).
nn::Sequential mlp(const Options& o, xg::Generator& generator) {
    nn::Sequential model;
    for (std::size_t l = 0; l + 1 < o.layers.size(); ++l) {
        model.push_back(nn::Linear(o.layers[l], o.layers[l + 1], generator));
        if (l + 2 == o.layers.size()) break;
        if (o.activation == "relu")
            model.push_back(nn::ReLU());
        else if (l == 0)
            model.push_back(nn::Sigmoid());
        else
            model.push_back(nn::Tanh());
    }
    return model;
}

long resident_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    throw std::runtime_error("no VmRSS in /proc/self/status");
}

// Loading MNIST passes through temporaries larger than a training step needs, so the peak is restarted from the
// current resident size (Linux: "5" to clear_refs resets the high-water mark that ru_maxrss reports).
void reset_peak_resident() {
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5";
    if (!clear_refs.flush()) throw std::runtime_error("cannot reset the peak resident size (/proc/self/clear_refs)");
}

long peak_resident_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    xg::set_num_threads(o.threads);
    const xg::data::Split mnist = xg::data::load_mnist(o.data);
    xg::Generator generator(o.seed);
    nn::Sequential model = mlp(o, generator);
    xg::optim::SGD sgd(model.parameters(), {.lr = o.lr});

    if (o.steps > 0) {
        // fit's training step, without its bookkeeping, on the first `steps` batches of its loader.
        xg::data::DataLoader loader(mnist.train, o.fit_options().loader);
        const long baseline = resident_kib();
        reset_peak_resident();
        std::size_t step = 0;
        for (const xg::data::Batch& batch : loader) {
            if (step++ == o.steps) break;
            sgd.zero_grad();
            xg::default_loss(model(batch.inputs), batch).backward();
            sgd.step();
        }
        const long peak = peak_resident_kib();
        std::printf("memory baseline_kib=%ld peak_kib=%ld increase_kib=%ld\n", baseline, peak, peak - baseline);
        return 0;
    }

    train_and_report(model, sgd, mnist, o);

    // The whole test set scored by evaluate (its default batches), against its forward matrix products alone: the
    // same products without recording, the first layer's on the test set's own rows (reading them from memory is part
    // of any evaluation), the later layers' on ready inputs of their shape. Best of 5 each.
    const auto best_of_5 = [](const auto& work) {
        double best = 1e30;
        for (int i = 0; i < 5; ++i) {
            const auto start = std::chrono::steady_clock::now();
            work();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        return best;
    };
    const double evaluate_seconds = best_of_5([&] { xg::evaluate(model, mnist.test); });
    constexpr std::size_t evaluation_rows = 256;  // evaluate's default batch_size
    std::vector<xg::Var> test_batches;
    for (std::size_t first = 0; first < mnist.test.size(); first += evaluation_rows) {
        const std::size_t rows = std::min(evaluation_rows, mnist.test.size() - first);
        test_batches.push_back(xg::Var(xt::xarray<float>(xt::view(mnist.test.inputs, xt::range(first, first + rows)))));
    }
    std::vector<xg::Var> weights, layer_inputs;
    for (const auto& [name, parameter] : model.named_parameters())
        if (parameter.dim() == 2) {
            weights.push_back(parameter);
            layer_inputs.push_back(xg::zeros({evaluation_rows, parameter.shape()[0]}));
        }
    const double forward_seconds = best_of_5([&] {
        xg::NoGradGuard no_grad;
        for (const xg::Var& batch : test_batches) {
            (void)xg::matmul(batch, weights[0]);
            for (std::size_t l = 1; l < weights.size(); ++l) (void)xg::matmul(layer_inputs[l], weights[l]);
        }
    });
    std::printf("evaluate_seconds=%.5f forward_products_seconds=%.5f\n", evaluate_seconds, forward_seconds);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "mlp_epoch: %s\n", e.what());
    return 2;
}
