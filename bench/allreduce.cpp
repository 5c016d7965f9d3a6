// How long averaging gradients across processes takes for the networks xgrad ships, and what a sum of a few numbers
// costs: the two terms of docs/distributed.md's cost model, measured on the processes mpirun starts.
//   mpirun -np 2 build/bench/allreduce [--repeats 300] [--bucket-bytes 4194304]
// For each network: its parameters, the bytes one average_gradients call reduces, the median time of a call and the
// bus bandwidth that time implies (2 (N − 1) / N × bytes / time, as nccl-tests count it).
#include "flags.hpp"

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace nn = xg::nn;

namespace {

// The median wall time of `repeats` calls of `call`, each started together on every process, after a few unmeasured.
double median_seconds(std::size_t repeats, const std::function<void()>& call) {
    std::vector<double> times;
    for (std::size_t i = 0; i < repeats + 10; ++i) {
        xg::dist::sum(0.0);  // every process starts the call at once
        const auto start = std::chrono::steady_clock::now();
        call();
        if (i >= 10) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
    return times[times.size() / 2];
}

struct Network {
    const char* name;
    nn::Sequential model;
    xg::Shape input;
};

}  // namespace

int main(int argc, char** argv) {
    xg::dist::Environment mpi(argc, argv);
    std::size_t repeats = 300, bucket_bytes = std::size_t{1} << 22;
    Flags flags(argc, argv);
    flags.read("--repeats", repeats);
    flags.read("--bucket-bytes", bucket_bytes);
    flags.finish();
    const bool leader = mpi.rank() == 0;
    const auto processes = static_cast<double>(mpi.size());

    xg::Generator g(0);
    std::vector<Network> networks;
    networks.push_back({"two-layer 784-50-10 (seed 003)",
                        nn::Sequential(nn::Linear(784, 50, g), nn::ReLU(), nn::Linear(50, 10, g)), {1, 784}});
    networks.push_back({"three-layer 784-64-16-10 (seeds 000/001)",
                        nn::Sequential(nn::Linear(784, 64, g), nn::Sigmoid(), nn::Linear(64, 16, g), nn::Tanh(),
                                       nn::Linear(16, 10, g)),
                        {1, 784}});
    networks.push_back({"LeNet-5",
                        nn::Sequential(nn::Conv2d(1, 6, {5, 5}, g, {.padding = {2, 2}}), nn::ReLU(),
                                       nn::MaxPool2d({2, 2}), nn::Conv2d(6, 16, {5, 5}, g), nn::ReLU(),
                                       nn::MaxPool2d({2, 2}), nn::Flatten(), nn::Linear(400, 120, g), nn::ReLU(),
                                       nn::Linear(120, 84, g), nn::ReLU(), nn::Linear(84, 10, g)),
                        {1, 1, 28, 28}});
    networks.push_back({"SimpleConvNet (book ch. 7)",
                        nn::Sequential(nn::Conv2d(1, 30, {5, 5}, g), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                                       nn::Linear(4320, 100, g), nn::ReLU(), nn::Linear(100, 10, g)),
                        {1, 1, 28, 28}});

    if (leader)
        fmt::print("{} processes, buckets of {} bytes\n\n{:<42} {:>10} {:>10} {:>10} {:>9}\n", mpi.size(), bucket_bytes,
                   "network", "parameters", "bytes", "µs", "bus GB/s");
    for (Network& network : networks) {
        xg::sum(network.model(xg::zeros(network.input))).backward();
        const std::vector<xg::Var> parameters = network.model.parameters();
        std::size_t count = 0;
        for (const xg::Var& p : parameters) count += p.size();
        const double seconds =
            median_seconds(repeats, [&] { xg::dist::average_gradients(parameters, bucket_bytes); });
        const double bytes = 4.0 * static_cast<double>(count);
        if (leader)
            fmt::print("{:<42} {:>10} {:>10} {:>10.1f} {:>9.2f}\n", network.name, count, bytes, seconds * 1e6,
                       2.0 * (processes - 1.0) / processes * bytes / seconds / 1e9);
    }
    std::vector<double> four{1.0, 2.0, 3.0, 0.0};
    const double small = median_seconds(repeats, [&] { mpi.sum(four); });
    if (leader)
        fmt::print("\na sum of 4 numbers (fit's per-batch loss, rows, correct predictions and Ctrl-C): {:.1f} µs\n",
                   small * 1e6);
}
