#pragma once
// What the op files share and nothing above them sees: broadcasting and dtype rules, axis arithmetic, and forward
// kernels that run a generic xtensor expression on whichever dtype the operands hold, writing into a freshly
// allocated result without temporaries.
#include "autograd/node.hpp"

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include <algorithm>
#include <utility>

namespace xg {

template <class E, class = void>
struct value_type_of {
    using type = std::decay_t<E>;  // a plain scalar
};
template <class E>
struct value_type_of<E, std::void_t<typename std::decay_t<E>::value_type>> {
    using type = typename std::decay_t<E>::value_type;
};
/// Element type of an xtensor expression or scalar.
template <class E>
using value_t = typename value_type_of<E>::type;

/// The shape numpy broadcasting gives a op b, or ShapeError naming op and both shapes.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);
/// Whether numpy broadcasting stretches `from` to exactly `to`.
bool broadcasts_to(const Shape& from, const Shape& to);

/// The operands (at least one) in the dtype an op on them computes in, through the differentiable `to`: PyTorch's
/// promotion, where float64 wins but a 0-d operand does not promote operands with dimensions.
std::vector<Var> in_common_dtype(std::vector<Var> xs);
/// in_common_dtype of two.
std::pair<Var, Var> same_dtype(const Var& a, const Var& b);

/// A shape as reshape takes it.
inline std::vector<std::ptrdiff_t> as_signed(const Shape& shape) { return {shape.begin(), shape.end()}; }

/// Makes a and b the same dtype (float32 meets float64 → float64, through the differentiable `to`) and checks
/// that their shapes broadcast.
std::pair<Var, Var> prepare_binary(const char* op, const Var& a, const Var& b);

/// op(a)·op(b), where op transposes when its flag is set, recorded as `op`: matmul and every backward of it, so no
/// transpose is ever materialised.
Var gemm(const char* op, const Var& a, const Var& b, bool transpose_a, bool transpose_b);

/// Maps `axis` (negative counts from the end) to [0, rank), or throws ShapeError naming op and shape.
std::size_t normalize_axis(const char* op, std::ptrdiff_t axis, const Shape& shape);

/// A contiguous array seen as (outer, n, inner) around one axis, the layout reductions loop over.
struct AxisSplit {
    std::size_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::size_t axis);

/// Shape of a reduction over `axis`, keeping a 1 there if keepdims.
Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims);

/// f(x, y) elementwise with broadcasting; x and y must already share a dtype (prepare_binary).
template <class F>
Tensor map_binary(const Var& x, const Var& y, F&& f) {
    return visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        const A& b = std::get<A>(tensor_of(y));
        if (a.shape() == b.shape()) {
            A r = uninitialized<typename A::value_type>(a.shape());
            xt::noalias(r) = f(a, b);
            return r;
        }
        // One-element operands of no higher rank broadcast as plain scalars, which vectorises.
        if (b.size() == 1 && b.dimension() <= a.dimension()) {
            A r = uninitialized<typename A::value_type>(a.shape());
            xt::noalias(r) = f(a, *b.data());
            return r;
        }
        if (a.size() == 1 && a.dimension() <= b.dimension()) {
            A r = uninitialized<typename A::value_type>(b.shape());
            xt::noalias(r) = f(*a.data(), b);
            return r;
        }
        A r = f(a, b);
        return r;
    });
}

/// Sum of a along `axis` by plain loops (xtensor 0.24's immediate reducers mis-size their result for some
/// axis arguments, and its lazy ones are slow).
template <class T>
xt::xarray<T> sum_along(const xt::xarray<T>& a, std::size_t axis, bool keepdims) {
    const AxisSplit s = split_at(a.shape(), axis);
    xt::xarray<T> r = uninitialized<T>(reduced_shape(a.shape(), axis, keepdims));
    std::fill(r.begin(), r.end(), T(0));
    for (std::size_t o = 0; o < s.outer; ++o) {
        T* out = r.data() + o * s.inner;
        for (std::size_t k = 0; k < s.n; ++k) {
            const T* in = a.data() + (o * s.n + k) * s.inner;
            for (std::size_t i = 0; i < s.inner; ++i) out[i] += in[i];
        }
    }
    return r;
}

/// Along one axis of a window op (convolution, pooling), the outputs [first, end) whose input `i·stride + offset −
/// padding` lies inside an input of `size`: `offset` is the window element's, 0 … (kernel − 1)·dilation.
inline std::pair<std::size_t, std::size_t> outputs_inside(std::size_t offset, std::size_t size, std::size_t outputs,
                                                          std::size_t stride, std::size_t padding) {
    const auto shift = static_cast<std::ptrdiff_t>(offset) - static_cast<std::ptrdiff_t>(padding);
    const auto s = static_cast<std::ptrdiff_t>(stride);
    const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(size) - 1 - shift;
    const std::size_t first = shift >= 0 ? 0 : static_cast<std::size_t>((-shift + s - 1) / s);
    const std::size_t end = last < 0 ? 0 : std::min(outputs, static_cast<std::size_t>(last / s) + 1);
    return {first, std::max(first, end)};
}

}  // namespace xg
