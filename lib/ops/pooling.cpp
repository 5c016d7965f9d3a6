// Max and average pooling over NCHW arrays. Every pool reads fixed windows of each plane, so its backward is a
// scatter into the windows and the scatter's VJP the pool's own gather again: gradients of gradients stay within
// each op and its backward.
#include "ops/kernels.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

namespace xg {

namespace {

// The input rows (or columns) [begin[i], end[i]) that output row i reads, and what an average divides by.
struct Axis {
    std::vector<std::size_t> begin, end, divisor;
};

// Where each output element of a pool reads, and the names its ops carry.
struct Windows {
    const char* forward;
    const char* backward;
    Shape input, output;
    Axis rows, columns;
};

void require_4d(const char* op, const Var& input) {
    if (input.dim() != 4)
        throw ShapeError(fmt::format("{}: input must be 4-D (N, C, H, W), got {}", op, to_string(input.shape())));
}

// Windows of `kernel` every `stride`, over the input with `padding` on each side: PyTorch's pools (ceil_mode
// false), the windows clipped to the input and the divisor the whole kernel.
std::shared_ptr<const Windows> kernel_windows(const char* op, const char* backward, const Var& input, Size2 kernel,
                                              Size2 stride, Size2 padding) {
    require_4d(op, input);
    const Shape& x = input.shape();
    if (kernel[0] == 0 || kernel[1] == 0)
        throw ShapeError(fmt::format("{}: kernel {} must be positive", op, to_string(kernel)));
    if (stride[0] == 0 || stride[1] == 0)
        throw ShapeError(fmt::format("{}: stride {} must be positive", op, to_string(stride)));
    if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2)
        throw ShapeError(
            fmt::format("{}: padding {} must be at most half the kernel {}", op, to_string(padding), to_string(kernel)));
    const Size2 padded{x[2] + 2 * padding[0], x[3] + 2 * padding[1]};
    if (kernel[0] > padded[0] || kernel[1] > padded[1])
        throw ShapeError(fmt::format("{}: kernel {} is larger than the padded input {} of {}", op, to_string(kernel),
                                     to_string(padded), to_string(x)));
    auto windows = std::make_shared<Windows>();
    windows->forward = op;
    windows->backward = backward;
    windows->input = x;
    windows->output = x;
    Axis* axes[2] = {&windows->rows, &windows->columns};
    for (std::size_t d = 0; d < 2; ++d) {
        const std::size_t out = (padded[d] - kernel[d]) / stride[d] + 1;
        windows->output[2 + d] = out;
        for (std::size_t i = 0; i < out; ++i) {
            // Padded coordinates; padding ≤ kernel / 2 leaves every window at least one input element.
            const std::size_t start = i * stride[d];
            axes[d]->begin.push_back(std::max(start, padding[d]) - padding[d]);
            axes[d]->end.push_back(std::min(start + kernel[d], padding[d] + x[2 + d]) - padding[d]);
            axes[d]->divisor.push_back(kernel[d]);
        }
    }
    return windows;
}

// Calls f(output offset, input offset, divisor) for every input element each output element reads.
template <class F>
void for_each_window_element(const Windows& windows, F&& f) {
    const Shape &x = windows.input, &y = windows.output;
    const std::size_t planes = x[0] * x[1];
    for (std::size_t p = 0; p < planes; ++p)
        for (std::size_t i = 0; i < y[2]; ++i)
            for (std::size_t j = 0; j < y[3]; ++j) {
                const std::size_t out = (p * y[2] + i) * y[3] + j;
                const std::size_t divisor = windows.rows.divisor[i] * windows.columns.divisor[j];
                for (std::size_t r = windows.rows.begin[i]; r < windows.rows.end[i]; ++r)
                    for (std::size_t c = windows.columns.begin[j]; c < windows.columns.end[j]; ++c)
                        f(out, (p * x[2] + r) * x[3] + c, divisor);
            }
}

Var average_backward(const Var& g, const std::shared_ptr<const Windows>& windows);

// Each window's sum over its divisor.
Var average(const Var& x, const std::shared_ptr<const Windows>& windows) {
    Tensor value = x.visit_value([&](const auto& input) -> Tensor {
        using T = value_t<decltype(input)>;
        auto out = uninitialized<T>(windows->output);
        std::fill(out.begin(), out.end(), T(0));
        for_each_window_element(*windows, [&](std::size_t o, std::size_t i, std::size_t) {
            out.data()[o] += input.data()[i];
        });
        // The divisor after the sum, as PyTorch divides.
        const Shape& y = windows->output;
        for (std::size_t p = 0; p < y[0] * y[1]; ++p)
            for (std::size_t i = 0; i < y[2]; ++i)
                for (std::size_t j = 0; j < y[3]; ++j)
                    out.data()[(p * y[2] + i) * y[3] + j] /=
                        static_cast<T>(windows->rows.divisor[i] * windows->columns.divisor[j]);
        return out;
    });
    return record(windows->forward, std::move(value), {x},
                  [windows](Backward& bw) { bw.add(0, average_backward(bw.grad, windows)); }, Saved::nothing());
}

// Each output gradient shared evenly over its window (divided by the window's divisor), added up where windows
// overlap. Linear in g: its VJP is the average again.
Var average_backward(const Var& g, const std::shared_ptr<const Windows>& windows) {
    Tensor value = g.visit_value([&](const auto& grad) -> Tensor {
        using T = value_t<decltype(grad)>;
        auto out = uninitialized<T>(windows->input);
        std::fill(out.begin(), out.end(), T(0));
        for_each_window_element(*windows, [&](std::size_t o, std::size_t i, std::size_t d) {
            out.data()[i] += grad.data()[o] / static_cast<T>(d);
        });
        return out;
    });
    return record(windows->backward, std::move(value), {g},
                  [windows](Backward& bw) { bw.add(0, average(bw.grad, windows)); }, Saved::nothing());
}

// `a` if `take`, else `b`, by masking bits: the compiler turns `take ? a : b` into a jump, and which element of a
// window is largest is data no branch predictor guesses.
template <class T>
T select(bool take, T a, T b) {
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const Bits mask = Bits(0) - static_cast<Bits>(take);
    return std::bit_cast<T>((std::bit_cast<Bits>(a) & mask) | (std::bit_cast<Bits>(b) & ~mask));
}

// For max pooling: each output element's input offset, the window's maximum.
using Indices = std::shared_ptr<const std::vector<std::size_t>>;

Var scatter_at(const Var& g, const Indices& indices, const Shape& input_shape);

// x's elements at `indices`, shaped `shape`: max_pool2d's value, and the VJP of its backward.
Var gather_at(const Var& x, const Indices& indices, const Shape& shape) {
    Tensor value = x.visit_value([&](const auto& input) -> Tensor {
        using T = value_t<decltype(input)>;
        auto out = uninitialized<T>(shape);
        for (std::size_t o = 0; o < indices->size(); ++o) out.data()[o] = input.data()[(*indices)[o]];
        return out;
    });
    return record("max_pool2d", std::move(value), {x}, [indices](Backward& bw) {
        bw.add(0, scatter_at(bw.grad, indices, bw.input_shape(0)));
    }, Saved::nothing());
}

// g added into zeros of the input's shape at `indices` (overlapping windows may share a maximum).
Var scatter_at(const Var& g, const Indices& indices, const Shape& input_shape) {
    Tensor value = g.visit_value([&](const auto& grad) -> Tensor {
        using T = value_t<decltype(grad)>;
        auto out = uninitialized<T>(input_shape);
        std::fill(out.begin(), out.end(), T(0));
        for (std::size_t o = 0; o < indices->size(); ++o) out.data()[(*indices)[o]] += grad.data()[o];
        return out;
    });
    return record("max_pool2d_backward", std::move(value), {g}, [indices](Backward& bw) {
        bw.add(0, gather_at(bw.grad, indices, bw.input_shape(0)));
    }, Saved::nothing());
}

}  // namespace

Var max_pool2d(const Var& input, Size2 kernel) { return max_pool2d(input, kernel, kernel); }

Var max_pool2d(const Var& input, Size2 kernel, Size2 stride, Size2 padding) {
    require_defined("max_pool2d", input);
    const auto windows = kernel_windows("max_pool2d", "max_pool2d_backward", input, kernel, stride, padding);
    const Shape &x = windows->input, &y = windows->output;
    auto indices = std::make_shared<std::vector<std::size_t>>(y[0] * y[1] * y[2] * y[3]);
    input.visit_value([&](const auto& values) {
        using T = value_t<decltype(values)>;
        const T* in = values.data();
        // One output row at a time, kernel offset by kernel offset, so the innermost loop runs along the row's
        // outputs with no dependence between them.
        std::vector<T> best_value(y[3]);
        for (std::size_t p = 0; p < x[0] * x[1]; ++p)
            for (std::size_t i = 0; i < y[2]; ++i) {
                std::size_t* best = indices->data() + (p * y[2] + i) * y[3];
                for (std::size_t j = 0; j < y[3]; ++j)
                    best[j] = (p * x[2] + windows->rows.begin[i]) * x[3] + windows->columns.begin[j];
                std::fill(best_value.begin(), best_value.end(), -std::numeric_limits<T>::infinity());
                for (std::size_t r = windows->rows.begin[i]; r < windows->rows.end[i]; ++r)
                    for (std::size_t dc = 0; dc < kernel[1]; ++dc) {
                        // Output column j reads input column j·stride + dc − padding; only those inside the row.
                        const auto shift = static_cast<std::ptrdiff_t>(dc) - static_cast<std::ptrdiff_t>(padding[1]);
                        const auto s = static_cast<std::ptrdiff_t>(stride[1]);
                        const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(x[3]) - 1 - shift;
                        if (last < 0) continue;
                        const std::size_t first = shift >= 0 ? 0 : static_cast<std::size_t>((-shift + s - 1) / s);
                        const std::size_t end = std::min(y[3], static_cast<std::size_t>(last / s) + 1);
                        const std::size_t row = (p * x[2] + r) * x[3];
                        // In row-major order a later element wins only if strictly larger, so ties go to the first
                        // maximum; a NaN wins over any number and then stays, so NaN passes through as in PyTorch.
                        for (std::size_t j = first; j < end; ++j) {
                            const std::size_t candidate = row + static_cast<std::size_t>(
                                                                    static_cast<std::ptrdiff_t>(j) * s + shift);
                            const T value = in[candidate];
                            const bool wins = (best_value[j] == best_value[j]) & !(value <= best_value[j]);
                            best[j] = select(wins, candidate, best[j]);
                            best_value[j] = select(wins, value, best_value[j]);
                        }
                    }
            }
    });
    return gather_at(input, indices, windows->output);
}

Var avg_pool2d(const Var& input, Size2 kernel) { return avg_pool2d(input, kernel, kernel); }

Var avg_pool2d(const Var& input, Size2 kernel, Size2 stride, Size2 padding) {
    require_defined("avg_pool2d", input);
    return average(input, kernel_windows("avg_pool2d", "avg_pool2d_backward", input, kernel, stride, padding));
}

Var adaptive_avg_pool2d(const Var& input, Size2 output_size) {
    constexpr const char* op = "adaptive_avg_pool2d";
    require_defined(op, input);
    require_4d(op, input);
    const Shape& x = input.shape();
    if (output_size[0] == 0 || output_size[1] == 0)
        throw ShapeError(fmt::format("{}: output size {} must be positive", op, to_string(output_size)));
    if (x[2] == 0 || x[3] == 0)
        throw ShapeError(fmt::format("{}: input {} has no rows or columns to average", op, to_string(x)));
    auto windows = std::make_shared<Windows>();
    windows->forward = op;
    windows->backward = "adaptive_avg_pool2d_backward";
    windows->input = x;
    windows->output = {x[0], x[1], output_size[0], output_size[1]};
    Axis* axes[2] = {&windows->rows, &windows->columns};
    for (std::size_t d = 0; d < 2; ++d) {
        const std::size_t size = x[2 + d], out = output_size[d];
        for (std::size_t i = 0; i < out; ++i) {
            const std::size_t begin = i * size / out, end = ((i + 1) * size + out - 1) / out;
            axes[d]->begin.push_back(begin);
            axes[d]->end.push_back(end);
            axes[d]->divisor.push_back(end - begin);
        }
    }
    return average(input, windows);
}

}  // namespace xg
