// Heap allocations of a steady-state training step: malloc, calloc, realloc, the aligned forms and operator new,
// counted across every library the program uses (this executable's definitions take the place of glibc's), over 100
// steps after two that size every buffer (the first step's gradients become the parameters' .grad, so the second
// makes its temporaries once more), and over 50 batches of an epoch of fit. Run:
//   build/bench/allocations
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long> allocations{0};
}

extern "C" {
void* malloc(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(pointer, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    *out = __libc_memalign(alignment, size);
    return *out ? 0 : ENOMEM;
}
void free(void* pointer) { __libc_free(pointer); }
}

// operator new goes through malloc in libstdc++, so it is counted there.

namespace {

namespace nn = xg::nn;

// Allocations per step of `step` over 100 steps, after two steps that size every buffer.
template <class Step>
double allocations_per_step(Step&& step) {
    step();
    step();
    const long before = allocations.load();
    for (int i = 0; i < 100; ++i) step();
    return static_cast<double>(allocations.load() - before) / 100.0;
}

}  // namespace

int main() {
    xg::Generator generator(1);
    const xg::Var x = xg::rand({100, 784}, generator);
    std::vector<std::size_t> labels(100);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = i % 10;
    for (const auto& [name, activation] : {std::pair<const char*, int>{"ReLU", 0}, {"sigmoid", 1}}) {
        nn::Sequential model(nn::Linear(784, 50, generator));
        if (activation == 0)
            model.push_back(nn::ReLU());
        else
            model.push_back(nn::Sigmoid());
        model.push_back(nn::Linear(50, 10, generator));
        xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
        for (int threads : {1, 2}) {
            xg::set_num_threads(threads);
            const double per_step = allocations_per_step([&] {
                sgd.zero_grad();
                xg::softmax_cross_entropy(model(x), labels).backward();
                sgd.step();
            });
            fmt::print("784-50-10 {}, batch 100, forward + backward + SGD step, {} thread{}: {} allocations per step\n",
                       name, threads, threads == 1 ? "" : "s", per_step);
        }
    }

    xg::data::Dataset data;
    data.inputs = xg::rand({6000, 784}, generator).value<float>();
    for (std::size_t i = 0; i < 6000; ++i) data.labels.push_back(generator.below(10));
    data.num_classes = 10;
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    xg::FitOptions options;
    options.epochs = 1;
    options.loader = {.batch_size = 100, .shuffle = true, .seed = 2};
    options.progress = xg::Progress::none;
    // Counted from the end of the 10th batch to the end of the 60th: the epoch's own setup (shuffling, the first
    // batch's buffers) is not a training step.
    long at_10th = 0, at_60th = 0;
    options.on_batch_end = [&](const xg::BatchEnd& end) {
        if (end.batch + 1 == 10) at_10th = allocations.load();
        if (end.batch + 1 == 60) at_60th = allocations.load();
    };
    for (int threads : {1, 2}) {
        xg::set_num_threads(threads);
        xg::fit(model, sgd, data, options);
        fmt::print("fit, 784-50-10 ReLU, batches of 100, {} thread{}: {} allocations per batch\n", threads,
                   threads == 1 ? "" : "s", static_cast<double>(at_60th - at_10th) / 50.0);
    }
}
