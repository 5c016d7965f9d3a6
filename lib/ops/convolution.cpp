// 2-D convolution over NCHW arrays by im2col and GEMM (Deep Learning from Scratch, ch. 7): each image's
// receptive fields are unfolded into the columns of a matrix, so the convolution of one group is one product
// with its slice of the weight. The two backward passes are primitives of their own, each the other's and
// conv2d's adjoint, so gradients of gradients stay within these three ops.
#include "ops/blas.hpp"
#include "ops/kernels.hpp"

#include <algorithm>

namespace xg {

namespace {

// Sizes of one convolution, checked once: input (n, c_in, h, w), weight (c_out, c_in/groups, kh, kw), output
// (n, c_out, out_h, out_w).
struct Geometry {
    std::size_t n, c_in, h, w, c_out, kh, kw, out_h, out_w;
    Conv2dOptions options;

    std::size_t groups() const { return options.groups; }
    std::size_t group_in() const { return c_in / options.groups; }
    std::size_t group_out() const { return c_out / options.groups; }
    // Rows of one group's column matrix (a receptive field) and its columns (output positions).
    std::size_t patch() const { return group_in() * kh * kw; }
    std::size_t positions() const { return out_h * out_w; }
    Shape input_shape() const { return {n, c_in, h, w}; }
    Shape weight_shape() const { return {c_out, group_in(), kh, kw}; }
    Shape output_shape() const { return {n, c_out, out_h, out_w}; }
};

// The geometry of conv2d(input, weight) with these options, or ShapeError naming `op` and the shapes.
Geometry geometry(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& o) {
    if (x.size() != 4)
        throw ShapeError(fmt::format("{}: input must be 4-D (N, C, H, W), got {}", op, to_string(x)));
    if (w.size() != 4)
        throw ShapeError(fmt::format("{}: weight must be 4-D (C_out, C_in / groups, kH, kW), got {}", op,
                                     to_string(w)));
    if (o.groups == 0) throw ShapeError(fmt::format("{}: groups must be at least 1", op));
    require_stride_and_dilation(op, o);
    if (x[1] != w[1] * o.groups)
        throw ShapeError(fmt::format("{}: input {} has {} channels but weight {} expects {} × groups {}", op,
                                     to_string(x), x[1], to_string(w), w[1], o.groups));
    if (w[0] % o.groups != 0)
        throw ShapeError(fmt::format("{}: weight {} has {} output channels, not divisible by groups {}", op,
                                     to_string(w), w[0], o.groups));
    if (w[2] == 0 || w[3] == 0) throw ShapeError(fmt::format("{}: weight {} has an empty kernel", op, to_string(w)));
    const std::size_t span_h = o.dilation[0] * (w[2] - 1) + 1, span_w = o.dilation[1] * (w[3] - 1) + 1;
    const std::size_t padded_h = x[2] + 2 * o.padding[0], padded_w = x[3] + 2 * o.padding[1];
    if (span_h > padded_h || span_w > padded_w)
        throw ShapeError(fmt::format("{}: kernel ({}, {}) with dilation {} spans ({}, {}), more than the padded input "
                                     "({}, {}) of {}",
                                     op, w[2], w[3], to_string(o.dilation), span_h, span_w, padded_h, padded_w,
                                     to_string(x)));
    return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], (padded_h - span_h) / o.stride[0] + 1,
            (padded_w - span_w) / o.stride[1] + 1, o};
}

// Calls f(entry, source, count) for each run of one group's column matrix whose receptive-field elements lie inside
// the image: `count` entries from `entry` on (consecutive output positions in one row of the matrix) read the
// group's channels of one image at source, source + stride[1], ... The entries outside the runs are the zero padding.
template <class F>
void for_each_patch_run(const Geometry& g, F&& f) {
    const auto& o = g.options;
    for (std::size_t c = 0; c < g.group_in(); ++c)
        for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
                const std::size_t row = (c * g.kh + i) * g.kw + j;
                // Output column ox reads input column ox·stride + j·dilation − padding: the run is the ox inside.
                const auto [first, end] = outputs_inside(j * o.dilation[1], g.w, g.out_w, o.stride[1], o.padding[1]);
                if (first == end) continue;
                const std::size_t column = first * o.stride[1] + j * o.dilation[1] - o.padding[1];
                for (std::size_t oy = 0; oy < g.out_h; ++oy) {
                    // The padded coordinate less the padding; unsigned wrap-around makes negatives large.
                    const std::size_t y = oy * o.stride[0] + i * o.dilation[0] - o.padding[0];
                    if (y >= g.h) continue;
                    f(row * g.positions() + oy * g.out_w + first, (c * g.h + y) * g.w + column, end - first);
                }
            }
}

// im2col: one group's channels of one image (starting at `image`) unfolded into `columns` (patch × positions).
template <class T>
void unfold(const Geometry& g, const T* image, T* columns) {
    const auto& o = g.options;
    // Without padding every receptive field lies inside the image, and the runs cover the whole matrix.
    if (o.padding[0] != 0 || o.padding[1] != 0) std::fill(columns, columns + g.patch() * g.positions(), T(0));
    const std::size_t step = o.stride[1];
    for_each_patch_run(g, [&](std::size_t entry, std::size_t source, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) columns[entry + k] = image[source + k * step];
    });
}

// col2im: adds `columns` back into one group's channels of one image, where receptive fields overlap too.
template <class T>
void fold(const Geometry& g, const T* columns, T* image) {
    const std::size_t step = g.options.stride[1];
    for_each_patch_run(g, [&](std::size_t entry, std::size_t source, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) image[source + k * step] += columns[entry + k];
    });
}

Var conv2d_input_backward(const Var& g, const Var& weight, const Shape& input_shape, const Conv2dOptions& options);
Var conv2d_weight_backward(const Var& g, const Var& input, const Shape& weight_shape, const Conv2dOptions& options);

// Each group of each image: output (group_out × positions) = weight (group_out × patch) · columns.
Var convolve(const Var& x, const Var& w, const Var* bias, const Geometry& geo) {
    Tensor value = visit(tensor_of(x), [&](const auto& input) -> Tensor {
        using A = std::decay_t<decltype(input)>;
        using T = value_t<A>;
        const A& weight = std::get<A>(tensor_of(w));
        A out = uninitialized<T>(geo.output_shape());
        A columns = uninitialized<T>({geo.patch(), geo.positions()});
        const std::size_t plane = geo.h * geo.w, out_plane = geo.positions();
        for (std::size_t n = 0; n < geo.n; ++n)
            for (std::size_t k = 0; k < geo.groups(); ++k) {
                T* result = out.data() + (n * geo.c_out + k * geo.group_out()) * out_plane;
                // The bias is written first and the product added to it (beta = 1), as affine does.
                if (bias)
                    for (std::size_t c = 0; c < geo.group_out(); ++c)
                        std::fill_n(result + c * out_plane, out_plane,
                                    std::get<A>(tensor_of(*bias))(k * geo.group_out() + c));
                unfold(geo, input.data() + (n * geo.c_in + k * geo.group_in()) * plane, columns.data());
                blas::gemm(false, false, geo.group_out(), out_plane, geo.patch(),
                           weight.data() + k * geo.group_out() * geo.patch(), columns.data(), bias ? 1 : 0, result);
            }
        return out;
    });
    const Conv2dOptions options = geo.options;
    const std::vector<std::ptrdiff_t> channels_by_position = as_signed({geo.c_out, geo.positions()});
    const bool has_bias = bias != nullptr;
    const auto vjp = [options, channels_by_position, has_bias](Backward& bw) {
        if (bw.needs(0)) bw.add(0, conv2d_input_backward(bw.grad, bw.input(1), bw.input_shape(0), options));
        if (bw.needs(1)) bw.add(1, conv2d_weight_backward(bw.grad, bw.input(0), bw.input_shape(1), options));
        // Over the images first, along contiguous rows and with no copy of the whole gradient; the sum over
        // positions then runs on one image's worth.
        if (has_bias && bw.needs(2)) bw.add(2, sum(reshape(sum(bw.grad, 0), channels_by_position), 1));
    };
    if (bias) return record("conv2d", std::move(value), {x, w, *bias}, vjp, Saved::only_inputs({0, 1}));
    return record("conv2d", std::move(value), {x, w}, vjp, Saved::only_inputs({0, 1}));
}

// The gradient of conv2d's input: per group, columns = weightᵀ · g, folded back (col2im). Linear in g and in the
// weight; its VJP is conv2d for g and conv2d_weight_backward for the weight.
Var conv2d_input_backward(const Var& g0, const Var& w0, const Shape& input_shape, const Conv2dOptions& options) {
    const std::pair<Var, Var> operands = same_dtype(g0, w0);
    const Var &g = operands.first, &w = operands.second;
    const Geometry geo = geometry("conv2d_input_backward", input_shape, w.shape(), options);
    Tensor value = visit(tensor_of(g), [&](const auto& grad) -> Tensor {
        using A = std::decay_t<decltype(grad)>;
        using T = value_t<A>;
        const A& weight = std::get<A>(tensor_of(w));
        A out = uninitialized<T>(input_shape);
        std::fill(out.begin(), out.end(), T(0));
        A columns = uninitialized<T>({geo.patch(), geo.positions()});
        const std::size_t plane = geo.h * geo.w, out_plane = geo.positions();
        for (std::size_t n = 0; n < geo.n; ++n)
            for (std::size_t k = 0; k < geo.groups(); ++k) {
                blas::gemm(true, false, geo.patch(), out_plane, geo.group_out(),
                           weight.data() + k * geo.group_out() * geo.patch(),
                           grad.data() + (n * geo.c_out + k * geo.group_out()) * out_plane, 0, columns.data());
                fold(geo, columns.data(), out.data() + (n * geo.c_in + k * geo.group_in()) * plane);
            }
        return out;
    });
    return record("conv2d_input_backward", std::move(value), {g, w}, [options](Backward& bw) {
        if (bw.needs(0)) bw.add(0, conv2d(bw.grad, bw.input(1), Var(), options));
        if (bw.needs(1)) bw.add(1, conv2d_weight_backward(bw.input(0), bw.grad, bw.input_shape(1), options));
    }, Saved::only_inputs({0, 1}));
}

// The gradient of conv2d's weight: per group, the sum over images of g · columnsᵀ. Linear in g and in the input;
// its VJP is conv2d (the input convolved with the incoming gradient as weight) for g and conv2d_input_backward
// for the input.
Var conv2d_weight_backward(const Var& g0, const Var& x0, const Shape& weight_shape, const Conv2dOptions& options) {
    const std::pair<Var, Var> operands = same_dtype(g0, x0);
    const Var &g = operands.first, &x = operands.second;
    const Geometry geo = geometry("conv2d_weight_backward", x.shape(), weight_shape, options);
    Tensor value = visit(tensor_of(g), [&](const auto& grad) -> Tensor {
        using A = std::decay_t<decltype(grad)>;
        using T = value_t<A>;
        const A& input = std::get<A>(tensor_of(x));
        A out = uninitialized<T>(weight_shape);
        std::fill(out.begin(), out.end(), T(0));
        A columns = uninitialized<T>({geo.patch(), geo.positions()});
        const std::size_t plane = geo.h * geo.w, out_plane = geo.positions();
        for (std::size_t n = 0; n < geo.n; ++n)
            for (std::size_t k = 0; k < geo.groups(); ++k) {
                unfold(geo, input.data() + (n * geo.c_in + k * geo.group_in()) * plane, columns.data());
                blas::gemm(false, true, geo.group_out(), geo.patch(), out_plane,
                           grad.data() + (n * geo.c_out + k * geo.group_out()) * out_plane, columns.data(), 1,
                           out.data() + k * geo.group_out() * geo.patch());
            }
        return out;
    });
    return record("conv2d_weight_backward", std::move(value), {g, x}, [options](Backward& bw) {
        if (bw.needs(0)) bw.add(0, conv2d(bw.input(1), bw.grad, Var(), options));
        if (bw.needs(1)) bw.add(1, conv2d_input_backward(bw.input(0), bw.grad, bw.input_shape(1), options));
    }, Saved::only_inputs({0, 1}));
}

}  // namespace

std::string to_string(const Size2& size) { return fmt::format("({}, {})", size[0], size[1]); }

Var conv2d(const Var& input, const Var& weight, const Var& bias, Conv2dOptions options) {
    require_defined("conv2d", input);
    require_defined("conv2d", weight);
    const bool has_bias = bias.defined();
    const std::vector<Var> operands = in_common_dtype(has_bias ? std::vector<Var>{input, weight, bias}
                                                               : std::vector<Var>{input, weight});
    const Geometry geo = geometry("conv2d", operands[0].shape(), operands[1].shape(), options);
    if (has_bias && (operands[2].dim() != 1 || operands[2].shape()[0] != geo.c_out))
        throw ShapeError(fmt::format("conv2d: bias of shape {} does not fit weight {}; it must be ({},)",
                                     to_string(operands[2].shape()), to_string(operands[1].shape()), geo.c_out));
    return convolve(operands[0], operands[1], has_bias ? &operands[2] : nullptr, geo);
}

}  // namespace xg
