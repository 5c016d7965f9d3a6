// Engine overhead: per-op cost on scalars (the apple graph), elementwise ops on 100×100, and matrix products
// forward + backward against the bare BLAS calls they make. Run single-threaded:
//   OPENBLAS_NUM_THREADS=1 build/bench/bench_core
#include <xgrad/xgrad.hpp>

#include <benchmark/benchmark.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <cblas.h>

#include <vector>

namespace {

// Reports time per op next to time per iteration.
void per_op(benchmark::State& state, int ops) {
    state.counters["per_op"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}

// Seed 003's apple graph: 4 ops forward, their 4 VJPs backward.
void apple_forward_backward(benchmark::State& state) {
    xg::Var apple(100.0, true), apple_num(2.0, true), orange(150.0, true), orange_num(3.0, true), tax(1.1, true);
    for (auto _ : state) {
        xg::Var price = (apple * apple_num + orange * orange_num) * tax;
        price.backward();
        benchmark::DoNotOptimize(tax.grad().node().get());
    }
    per_op(state, 4);
}
BENCHMARK(apple_forward_backward);

void apple_forward_no_grad(benchmark::State& state) {
    xg::Var apple(100.0), apple_num(2.0), orange(150.0), orange_num(3.0), tax(1.1);
    for (auto _ : state) {
        xg::Var price = (apple * apple_num + orange * orange_num) * tax;
        benchmark::DoNotOptimize(price.node().get());
    }
    per_op(state, 4);
}
BENCHMARK(apple_forward_no_grad);

// Elementwise on 100×100 float32: the op through xgrad, forward only and forward + backward, against the same
// expression evaluated by xtensor into a preallocated array.
enum class Elementwise { add, mul, sigmoid, relu, exp };

xg::Var apply(Elementwise op, const xg::Var& a, const xg::Var& b) {
    switch (op) {
        case Elementwise::add: return a + b;
        case Elementwise::mul: return a * b;
        case Elementwise::sigmoid: return xg::sigmoid(a);
        case Elementwise::relu: return xg::relu(a);
        case Elementwise::exp: return xg::exp(a);
    }
    return {};
}

void elementwise_forward(benchmark::State& state, Elementwise op) {
    xg::Generator generator(1);
    const xg::Var a = xg::randn({100, 100}, generator), b = xg::randn({100, 100}, generator);
    for (auto _ : state) benchmark::DoNotOptimize(apply(op, a, b).node().get());
}

void elementwise_forward_backward(benchmark::State& state, Elementwise op) {
    xg::Generator generator(1);
    xg::Var a = xg::randn({100, 100}, generator).set_requires_grad();
    xg::Var b = xg::randn({100, 100}, generator).set_requires_grad();
    const xg::Var seed = xg::ones({100, 100});
    for (auto _ : state) {
        apply(op, a, b).backward(seed);
        benchmark::DoNotOptimize(a.grad().node().get());
    }
}

void elementwise_xtensor(benchmark::State& state, Elementwise op) {
    xg::Generator generator(1);
    const xt::xarray<float> a = xg::randn({100, 100}, generator).value<float>();
    const xt::xarray<float> b = xg::randn({100, 100}, generator).value<float>();
    xt::xarray<float> out = xt::zeros<float>({100, 100});
    for (auto _ : state) {
        switch (op) {
            case Elementwise::add: xt::noalias(out) = a + b; break;
            case Elementwise::mul: xt::noalias(out) = a * b; break;
            case Elementwise::sigmoid: xt::noalias(out) = 1.f / (1.f + xt::exp(-a)); break;
            case Elementwise::relu: xt::noalias(out) = xt::maximum(a, 0.f); break;
            case Elementwise::exp: xt::noalias(out) = xt::exp(a); break;
        }
        benchmark::DoNotOptimize(out.data());
    }
}

#define ELEMENTWISE(op)                                                                    \
    BENCHMARK_CAPTURE(elementwise_xtensor, op, Elementwise::op);                          \
    BENCHMARK_CAPTURE(elementwise_forward, op, Elementwise::op);                          \
    BENCHMARK_CAPTURE(elementwise_forward_backward, op, Elementwise::op)
ELEMENTWISE(add);
ELEMENTWISE(mul);
ELEMENTWISE(sigmoid);
ELEMENTWISE(relu);
ELEMENTWISE(exp);

// x (100, 784) · W (784, 100): forward, then dx = g·Wᵀ and dW = xᵀ·g, against those three sgemm calls.
constexpr int rows = 100, inner = 784, cols = 100;

void matmul_forward_backward(benchmark::State& state) {
    xg::Generator generator(1);
    xg::Var x = xg::randn({rows, inner}, generator).set_requires_grad();
    xg::Var w = xg::randn({inner, cols}, generator).set_requires_grad();
    const xg::Var seed = xg::randn({rows, cols}, generator);
    for (auto _ : state) {
        x.zero_grad();
        w.zero_grad();
        xg::matmul(x, w).backward(seed);
        benchmark::DoNotOptimize(w.grad().node().get());
    }
}
BENCHMARK(matmul_forward_backward);

void matmul_bare_blas(benchmark::State& state) {
    std::vector<float> x(rows * inner, 0.5f), w(inner * cols, 0.25f), g(rows * cols, 1.f), y(rows * cols),
        dx(rows * inner), dw(inner * cols);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, inner, 1, x.data(), inner, w.data(), cols,
                    0, y.data(), cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, inner, cols, 1, g.data(), cols, w.data(), cols, 0,
                    dx.data(), inner);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, inner, cols, rows, 1, x.data(), inner, g.data(), cols, 0,
                    dw.data(), cols);
        benchmark::DoNotOptimize(dw.data());
    }
}
BENCHMARK(matmul_bare_blas);

// One SGD step of the seeds' MNIST network (784-50-10, ReLU, batch 100): affine, relu, affine,
// softmax_cross_entropy, backward, update; against its four GEMMs alone (no dx for the input layer).
void mnist_step(benchmark::State& state) {
    xg::Generator generator(1);
    const xg::Var x = xg::rand({100, 784}, generator);
    std::vector<std::size_t> labels(100);
    for (auto& label : labels) label = generator.below(10);
    std::vector<xg::Var> parameters = {
        xg::randn({784, 50}, generator, xg::Dtype::float32, 0, 0.01).set_requires_grad(),
        xg::zeros({50}).set_requires_grad(),
        xg::randn({50, 10}, generator, xg::Dtype::float32, 0, 0.01).set_requires_grad(),
        xg::zeros({10}).set_requires_grad(),
    };
    for (auto _ : state) {
        const xg::Var hidden = xg::relu(xg::affine(x, parameters[0], parameters[1]));
        xg::softmax_cross_entropy(xg::affine(hidden, parameters[2], parameters[3]), labels).backward();
        xg::NoGradGuard no_grad;
        for (xg::Var& p : parameters) {
            p.mutable_value<float>() -= 0.1f * p.grad().value<float>();
            p.zero_grad();
        }
    }
}
BENCHMARK(mnist_step);

void mnist_step_gemms_only(benchmark::State& state) {
    const int batch = 100, input = 784, hidden = 50, output = 10;
    std::vector<float> x(batch * input, 0.5f), w1(input * hidden, 0.01f), h(batch * hidden), w2(hidden * output, 0.01f),
        y(batch * output), gy(batch * output, 0.01f), dw2(hidden * output), gh(batch * hidden), dw1(input * hidden);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, hidden, input, 1, x.data(), input, w1.data(),
                    hidden, 0, h.data(), hidden);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, output, hidden, 1, h.data(), hidden, w2.data(),
                    output, 0, y.data(), output);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hidden, output, batch, 1, h.data(), hidden, gy.data(),
                    output, 0, dw2.data(), output);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, hidden, output, 1, gy.data(), output, w2.data(),
                    output, 0, gh.data(), hidden);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, input, hidden, batch, 1, x.data(), input, gh.data(),
                    hidden, 0, dw1.data(), hidden);
        benchmark::DoNotOptimize(dw1.data());
    }
}
BENCHMARK(mnist_step_gemms_only);

}  // namespace

BENCHMARK_MAIN();
