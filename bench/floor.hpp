#pragma once
// What gemm_floor and conv_floor share: their common flags, buffers filled as the shared notes' gemm_bound.c fills
// them, how a batch's rows are dealt to the workers, how an epoch is timed, and the lines they print.
#include "flags.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

/// --batch, --threads and --epochs.
struct FloorOptions {
    int batch = 100;
    int threads = 1;
    int epochs = 3;

    void read(Flags& flags) {
        flags.read("--batch", batch);
        flags.read("--threads", threads);
        flags.read("--epochs", epochs);
    }
    void check() const {
        if (batch < threads || threads < 1 || epochs < 1)
            throw std::invalid_argument("need 1 <= threads <= batch and epochs >= 1");
    }
};

/// Small values, no zeros or denormals to speed anything up.
inline std::vector<float> buffer(std::size_t n) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 7) * 0.01f;
    return v;
}

/// Each worker's rows of a batch: equal shares, the first ones one row more.
inline std::vector<int> worker_rows(int batch, int workers) {
    std::vector<int> rows(workers, batch / workers);
    for (int i = 0; i < batch % workers; ++i) ++rows[i];
    return rows;
}

/// `run(worker)` on each of `workers` threads at once (on the calling thread alone for one), after `prepare()`; the
/// best of `epochs` epochs, in seconds.
template <class Run, class Prepare>
double best_epoch_seconds(int epochs, int workers, const Run& run, const Prepare& prepare) {
    double best = 1e300;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        prepare();
        if (workers == 1) {
            run(0);
        } else {
            std::vector<std::jthread> pool;
            for (int worker = 0; worker < workers; ++worker) pool.emplace_back(run, worker);
        }
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

/// The floor both ways of using the threads, `best_epoch(workers)` timing each, one line each:
///   <name> mode=openblas<detail> threads=2 seconds=1.2345
///   <name> mode=split-batch<detail> threads=2 seconds=1.1000    (threads > 1 only)
/// openblas: one sequence, OpenBLAS using the threads inside each product. split-batch: each thread runs the sequence
/// single-threaded on its share of the batch (data parallelism; summing the threads' dW is left out).
template <class BestEpoch>
void print_floors(const char* name, const char* detail, int threads, const BestEpoch& best_epoch) {
    openblas_set_num_threads(threads);
    std::printf("%s mode=openblas%s threads=%d seconds=%.4f\n", name, detail, threads, best_epoch(1));
    if (threads > 1) {
        openblas_set_num_threads(1);
        std::printf("%s mode=split-batch%s threads=%d seconds=%.4f\n", name, detail, threads, best_epoch(threads));
    }
}
