// Max and average pooling over NCHW arrays. Every pool reads fixed windows of each plane, so its backward is a
// scatter into the windows and the scatter's VJP the pool's own gather again: gradients of gradients stay within
// each op and its backward.
#include "ops/kernels.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
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
    require_pool_settings(op, kernel, stride, padding);
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

// An integer that orders as max pooling compares: as the numbers for any two non-NaN values, and every NaN above
// all numbers and equal to the others. Integer compares vectorize and need no branch (which element of a window is
// largest is data, and a mispredicted branch costs more than the rest of the work).
template <class T>
auto order_key(T value) {
    using Bits = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
    constexpr Bits magnitude = std::numeric_limits<Bits>::max();  // all bits but the sign
    const auto bits = std::bit_cast<Bits>(value);
    // Negative numbers count down from the top as their magnitude grows; flip them to count up.
    const Bits key = bits ^ ((bits >> (8 * sizeof(T) - 1)) & magnitude);
    const bool nan = (bits & magnitude) > std::bit_cast<Bits>(std::numeric_limits<T>::infinity());
    return nan ? magnitude : key;
}

// One element of each window of a block of outputs, `rows` × `count`: output (i, j)'s is
// candidates[i·row_stride + j·stride], and its running largest key is largest[i·width + j]. The pointers do not
// alias, so the loops along a row vectorize.
template <class T, class Key>
void raise_to(const T* __restrict candidates, std::size_t rows, std::size_t row_stride, std::ptrdiff_t count,
              std::ptrdiff_t stride, Key* __restrict largest, std::size_t width) {
    for (std::size_t i = 0; i < rows; ++i, candidates += row_stride, largest += width)
        for (std::ptrdiff_t j = 0; j < count; ++j) {
            const Key key = order_key(candidates[j * stride]);
            largest[j] = key > largest[j] ? key : largest[j];
        }
}

// The same block: `which` becomes `element` where the candidate's key is the window's largest.
template <class T, class Key>
void mark_equal(const T* __restrict candidates, std::size_t rows, std::size_t row_stride, std::ptrdiff_t count,
                std::ptrdiff_t stride, const Key* __restrict largest, Key element, Key* __restrict which,
                std::size_t width) {
    for (std::size_t i = 0; i < rows; ++i, candidates += row_stride, largest += width, which += width)
        for (std::ptrdiff_t j = 0; j < count; ++j)
            which[j] = order_key(candidates[j * stride]) == largest[j] ? element : which[j];
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
        using Key = decltype(order_key(T{}));
        const T* in = values.data();
        // Window element (dr, dc) of the outputs in rows[dr] × columns[dc] lies inside the input.
        std::vector<std::pair<std::size_t, std::size_t>> rows(kernel[0]), columns(kernel[1]);
        for (std::size_t dr = 0; dr < kernel[0]; ++dr)
            rows[dr] = outputs_inside(dr, x[2], y[2], stride[0], padding[0]);
        for (std::size_t dc = 0; dc < kernel[1]; ++dc)
            columns[dc] = outputs_inside(dc, x[3], y[3], stride[1], padding[1]);
        // Element e = dr·kW + dc of a window lies at `element_offset[e]` from the window's top-left corner.
        std::vector<std::size_t> element_offset(kernel[0] * kernel[1]);
        for (std::size_t e = 0; e < element_offset.size(); ++e)
            element_offset[e] = e / kernel[1] * x[3] + e % kernel[1];
        // One plane at a time, element by element of the windows: each window's largest key, then, going through
        // the elements backwards, the first that has it. Ties go to the first maximum in row-major order, and the
        // first NaN wins over any number and stays, so NaN passes through as in PyTorch.
        const std::size_t plane = x[2] * x[3], outputs = y[2] * y[3];
        std::vector<Key> largest(outputs), which(outputs);
        const auto empty = [&](std::size_t dr, std::size_t dc) {
            return rows[dr].first == rows[dr].second || columns[dc].first == columns[dc].second;
        };
        const auto block = [&](std::size_t dr, std::size_t dc) {
            // The first output of the block, and where its element (dr, dc) lies in the plane.
            const std::size_t i = rows[dr].first, j = columns[dc].first;
            return std::pair{i * y[3] + j,
                             (i * stride[0] + dr - padding[0]) * x[3] + j * stride[1] + dc - padding[1]};
        };
        for (std::size_t p = 0; p < x[0] * x[1]; ++p) {
            const T* image = in + p * plane;
            std::fill(largest.begin(), largest.end(), std::numeric_limits<Key>::min());
            for (std::size_t dr = 0; dr < kernel[0]; ++dr)
                for (std::size_t dc = 0; dc < kernel[1]; ++dc) {
                    if (empty(dr, dc)) continue;  // an element that lies in the padding for every output
                    const auto [output, element] = block(dr, dc);
                    raise_to(image + element, rows[dr].second - rows[dr].first, stride[0] * x[3],
                             static_cast<std::ptrdiff_t>(columns[dc].second - columns[dc].first),
                             static_cast<std::ptrdiff_t>(stride[1]), largest.data() + output, y[3]);
                }
            for (std::size_t dr = kernel[0]; dr-- > 0;)
                for (std::size_t dc = kernel[1]; dc-- > 0;) {
                    if (empty(dr, dc)) continue;
                    const auto [output, element] = block(dr, dc);
                    mark_equal(image + element, rows[dr].second - rows[dr].first, stride[0] * x[3],
                               static_cast<std::ptrdiff_t>(columns[dc].second - columns[dc].first),
                               static_cast<std::ptrdiff_t>(stride[1]), largest.data() + output,
                               static_cast<Key>(dr * kernel[1] + dc), which.data() + output, y[3]);
                }
            std::size_t* best = indices->data() + p * outputs;
            for (std::size_t i = 0; i < y[2]; ++i)
                for (std::size_t j = 0; j < y[3]; ++j)
                    // The window's top-left corner, i·stride − padding and j·stride − padding, may lie in the padding.
                    best[i * y[3] + j] = p * plane + i * stride[0] * x[3] + j * stride[1] +
                                         element_offset[static_cast<std::size_t>(which[i * y[3] + j])] -
                                         padding[0] * x[3] - padding[1];
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
