// The GEMM floor of one MNIST epoch of an MLP: only the matrix products of training, the sequence of
// /work/shared/bench/gemm_bound.c (per step: each layer's forward product, then from the last layer down
// dW = Aᵀ·G and, except for the input layer, dX = G·Wᵀ; 60000/B steps). No activations, loss, bias or update, so
// no framework can train an epoch faster on the same BLAS. compare.py runs it beside mlp_epoch and PyTorch.
//   gemm_floor --layers 784,50,10 --batch 100 --threads 2 --epochs 3
// prints the best epoch, one line per way of using the threads:
//   floor mode=openblas threads=2 seconds=0.1234
//   floor mode=split-batch threads=2 seconds=0.1100    (threads > 1 only)
// openblas: one sequence, OpenBLAS using the threads inside each product. split-batch: each thread runs the
// sequence single-threaded on its share of the batch (data parallelism; summing the threads' dW is left out).
#include "layers_flag.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int train_rows = 60000;

struct Options {
    std::vector<int> layers = {784, 50, 10};
    int batch = 100;
    int threads = 1;
    int epochs = 3;
};

// Filled as gemm_bound.c fills its buffers: small values, no zeros or denormals to speed anything up.
std::vector<float> buffer(std::size_t n) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 7) * 0.01f;
    return v;
}

// One worker's arrays for `rows` rows of a batch; the weights are shared, read only.
struct Workspace {
    std::vector<std::vector<float>> activations, gradients, weight_gradients;

    Workspace(const std::vector<int>& dims, int rows) {
        for (int d : dims) {
            activations.push_back(buffer(static_cast<std::size_t>(rows) * d));
            gradients.push_back(buffer(static_cast<std::size_t>(rows) * d));
        }
        for (std::size_t l = 0; l + 1 < dims.size(); ++l)
            weight_gradients.push_back(buffer(static_cast<std::size_t>(dims[l]) * dims[l + 1]));
    }
};

// gemm_bound.c's inner loop, step for step.
void train_step_products(const std::vector<int>& dims, int rows, const std::vector<std::vector<float>>& weights,
                         Workspace& w) {
    const int layers = static_cast<int>(dims.size()) - 1;
    for (int l = 0; l < layers; ++l)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dims[l + 1], dims[l], 1, w.activations[l].data(),
                    dims[l], weights[l].data(), dims[l + 1], 0, w.activations[l + 1].data(), dims[l + 1]);
    for (int l = layers - 1; l >= 0; --l) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dims[l], dims[l + 1], rows, 1, w.activations[l].data(),
                    dims[l], w.gradients[l + 1].data(), dims[l + 1], 0, w.weight_gradients[l].data(), dims[l + 1]);
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dims[l], dims[l + 1], 1,
                        w.gradients[l + 1].data(), dims[l + 1], weights[l].data(), dims[l + 1], 0,
                        w.gradients[l].data(), dims[l]);
    }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The best of `epochs` epochs; each worker takes an equal share of every batch (the first ones one row more).
double best_epoch(const Options& o, const std::vector<std::vector<float>>& weights, int workers) {
    std::vector<int> rows(workers, o.batch / workers);
    for (int i = 0; i < o.batch % workers; ++i) ++rows[i];
    std::vector<Workspace> workspaces;
    for (int r : rows) workspaces.emplace_back(o.layers, r);
    const int steps = train_rows / o.batch;
    auto run = [&](int worker) {
        for (int s = 0; s < steps; ++s) train_step_products(o.layers, rows[worker], weights, workspaces[worker]);
    };
    double best = 1e300;
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        if (workers == 1) {
            run(0);
        } else {
            std::vector<std::jthread> pool;
            for (int worker = 0; worker < workers; ++worker) pool.emplace_back(run, worker);
        }
        best = std::min(best, seconds_since(start));
    }
    return best;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 == argc) throw std::invalid_argument(flag + " needs a value");
        const std::string value = argv[++i];
        if (flag == "--layers") {
            const std::vector<std::size_t> sizes = parse_layers(value);
            o.layers.assign(sizes.begin(), sizes.end());  // ints, as cblas takes them
        } else if (flag == "--batch")
            o.batch = std::stoi(value);
        else if (flag == "--threads")
            o.threads = std::stoi(value);
        else if (flag == "--epochs")
            o.epochs = std::stoi(value);
        else
            throw std::invalid_argument("unknown flag " + flag + " (--layers, --batch, --threads, --epochs)");
    }
    if (o.batch < o.threads || o.threads < 1 || o.epochs < 1)
        throw std::invalid_argument("need 1 <= threads <= batch and epochs >= 1");
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    std::vector<std::vector<float>> weights;
    for (std::size_t l = 0; l + 1 < o.layers.size(); ++l)
        weights.push_back(buffer(static_cast<std::size_t>(o.layers[l]) * o.layers[l + 1]));

    openblas_set_num_threads(o.threads);
    std::printf("floor mode=openblas threads=%d seconds=%.4f\n", o.threads, best_epoch(o, weights, 1));
    if (o.threads > 1) {
        openblas_set_num_threads(1);
        std::printf("floor mode=split-batch threads=%d seconds=%.4f\n", o.threads, best_epoch(o, weights, o.threads));
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "gemm_floor: %s\n", e.what());
    return 2;
}
