#pragma once
// How gemm_floor and conv_floor time an epoch: `run(worker)` on each of `workers` threads at once (on the calling
// thread alone for one), after `prepare()`; the best of `epochs` epochs, in seconds.
#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

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
