// Reductions: sum, mean and max, over everything or along an axis.
#include "ops/kernels.hpp"

#include <cmath>

namespace xg {

namespace {

// The shape x had before `axis` was reduced away: g reshaped so that it broadcasts back over x.
Var restore_axis(const Var& g, const Shape& input_shape, std::size_t axis) {
    Shape kept = reduced_shape(input_shape, axis, true);
    return g.shape() == kept ? g : reshape(g, as_signed(kept));
}
}  // namespace

Var sum(const Var& x) {
    require_defined("sum", x);
    Tensor value = visit(tensor_of(x), [](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        // Four partial sums in double: accurate for float32 and not bound by one add's latency.
        double part[4] = {0, 0, 0, 0};
        const std::size_t n = a.size();
        std::size_t i = 0;
        for (; i + 4 <= n; i += 4)
            for (std::size_t j = 0; j < 4; ++j) part[j] += a.data()[i + j];
        for (; i < n; ++i) part[0] += a.data()[i];
        return A(static_cast<value_t<A>>((part[0] + part[1]) + (part[2] + part[3])));
    });
    return record("sum", std::move(value), {x},
                  [](Backward& bw) { bw.add(0, broadcast_to(bw.grad, bw.input_shape(0))); }, Saved::nothing());
}

Var sum(const Var& x, std::ptrdiff_t axis_arg, bool keepdims) {
    require_defined("sum", x);
    const std::size_t axis = normalize_axis("sum", axis_arg, x.shape());
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor { return sum_along(a, axis, keepdims); });
    return record("sum_axis", std::move(value), {x}, [axis](Backward& bw) {
        const Shape& shape = bw.input_shape(0);
        bw.add(0, broadcast_to(restore_axis(bw.grad, shape, axis), shape));
    }, Saved::nothing());
}

Var mean(const Var& x) {
    require_defined("mean", x);
    if (x.size() == 0) throw ShapeError("mean: empty variable of shape " + to_string(x.shape()));
    return sum(x) * (1.0 / static_cast<double>(x.size()));
}

Var mean(const Var& x, std::ptrdiff_t axis, bool keepdims) {
    require_defined("mean", x);
    const std::size_t n = x.shape()[normalize_axis("mean", axis, x.shape())];
    if (n == 0) throw ShapeError(fmt::format("mean: axis {} of shape {} is empty", axis, to_string(x.shape())));
    return sum(x, axis, keepdims) * (1.0 / static_cast<double>(n));
}

Var max(const Var& x, std::ptrdiff_t axis_arg, bool keepdims) {
    require_defined("max", x);
    const std::size_t axis = normalize_axis("max", axis_arg, x.shape());
    const AxisSplit s = split_at(x.shape(), axis);
    if (s.n == 0) throw ShapeError(fmt::format("max: axis {} of shape {} is empty", axis_arg, to_string(x.shape())));
    // where[o * inner + i] = position along the axis of the first maximum (a NaN counts as the maximum).
    std::vector<std::size_t> where(s.outer * s.inner);
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = uninitialized<typename A::value_type>(reduced_shape(a.shape(), axis, keepdims));
        for (std::size_t o = 0; o < s.outer; ++o)
            for (std::size_t i = 0; i < s.inner; ++i) {
                const auto* p = a.data() + o * s.n * s.inner + i;
                std::size_t best = 0;
                for (std::size_t k = 1; k < s.n && !std::isnan(p[best * s.inner]); ++k)
                    if (p[k * s.inner] > p[best * s.inner] || std::isnan(p[k * s.inner])) best = k;
                where[o * s.inner + i] = best;
                r.data()[o * s.inner + i] = p[best * s.inner];
            }
        return r;
    });
    return record("max", std::move(value), {x}, [axis, s, where = std::move(where)](Backward& bw) {
        const Tensor& input = bw.input_value(0);
        Tensor mask = filled(dtype_of_tensor(input), shape_of_tensor(input), 0.0);
        visit(mask, [&](auto& m) {
            for (std::size_t o = 0; o < s.outer; ++o)
                for (std::size_t i = 0; i < s.inner; ++i)
                    m.data()[(o * s.n + where[o * s.inner + i]) * s.inner + i] = 1;
        });
        const Shape& shape = shape_of_tensor(input);
        bw.add(0, broadcast_to(restore_axis(bw.grad, shape, axis), shape) * constant(std::move(mask)));
    });
}

}  // namespace xg
