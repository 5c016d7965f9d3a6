// The GEMM floor of one MNIST epoch of an MLP: only the matrix products of training, the sequence of
// /work/shared/bench/gemm_bound.c (per step: each layer's forward product, then from the last layer down
// dW = Aᵀ·G and, except for the input layer, dX = G·Wᵀ; 60000/B steps). No activations, loss, bias or update, so
// no framework can train an epoch faster on the same BLAS. compare.py runs it beside mlp_epoch and PyTorch.
//   gemm_floor --layers 784,50,10 --batch 100 --threads 2 --epochs 3
// prints the best epoch, one line per way of using the threads:
//   floor mode=openblas threads=2 seconds=0.1234
//   floor mode=split-batch threads=2 seconds=0.1100    (threads > 1 only)
//   floor_with_rows mode=openblas threads=2 seconds=0.1456
// openblas and split-batch are the two ways of using the threads (print_floors in floor.hpp). floor_with_rows: the
// same, plus what no trainer can skip: drawing a fresh order of the 60000 rows each epoch and copying each batch's
// rows, scattered over the 188 MB training set, into the first layer's input before its step.
#include "floor.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int train_rows = 60000;

struct Options : FloorOptions {
    std::vector<int> layers = {784, 50, 10};
};

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

// The best of `epochs` epochs; each worker takes an equal share of every batch (the first ones one row more). With
// a training set, each step first copies its rows, in an order drawn afresh each epoch, into the input.
double best_epoch(const Options& o, const std::vector<std::vector<float>>& weights, int workers,
                  const std::vector<float>* training_set = nullptr) {
    const std::vector<int> rows = worker_rows(o.batch, workers);
    std::vector<int> first_row(workers, 0);
    for (int i = 1; i < workers; ++i) first_row[i] = first_row[i - 1] + rows[i - 1];
    std::vector<Workspace> workspaces;
    for (int r : rows) workspaces.emplace_back(o.layers, r);
    const int steps = train_rows / o.batch;
    const std::size_t width = static_cast<std::size_t>(o.layers[0]);
    std::vector<int> order(train_rows);
    std::mt19937 generator(1);
    auto run = [&](int worker) {
        Workspace& w = workspaces[worker];
        for (int s = 0; s < steps; ++s) {
            if (training_set)
                for (int r = 0; r < rows[worker]; ++r)
                    std::memcpy(w.activations[0].data() + r * width,
                                training_set->data() + order[s * o.batch + first_row[worker] + r] * width,
                                width * sizeof(float));
            train_step_products(o.layers, rows[worker], weights, w);
        }
    };
    return best_epoch_seconds(o.epochs, workers, run, [&] {
        if (training_set) {
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), generator);
        }
    });
}

Options parse(int argc, char** argv) {
    Options o;
    Flags flags(argc, argv);
    std::string layers;
    flags.read("--layers", layers);
    if (!layers.empty()) {
        const std::vector<std::size_t> sizes = parse_layers(layers);
        o.layers.assign(sizes.begin(), sizes.end());  // ints, as cblas takes them
    }
    o.read(flags);
    flags.finish();
    o.check();
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    std::vector<std::vector<float>> weights;
    for (std::size_t l = 0; l + 1 < o.layers.size(); ++l)
        weights.push_back(buffer(static_cast<std::size_t>(o.layers[l]) * o.layers[l + 1]));

    const std::vector<float> training_set = buffer(static_cast<std::size_t>(train_rows) * o.layers[0]);
    for (const std::vector<float>* rows : {static_cast<const std::vector<float>*>(nullptr), &training_set})
        print_floors(rows ? "floor_with_rows" : "floor", "", o.threads,
                     [&](int workers) { return best_epoch(o, weights, workers, rows); });
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "gemm_floor: %s\n", e.what());
    return 2;
}
