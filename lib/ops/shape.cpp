// Shape primitives: reshape, transpose, concat, slice and row selection, each with the op that undoes it as
// its backward (slice ↔ slice_backward, select_rows ↔ scatter_rows).
#include "support/element_count.hpp"
#include "ops/kernels.hpp"

#include <xtensor/xmanipulation.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace xg {

namespace {

std::string to_string(const std::vector<std::ptrdiff_t>& v) {
    return fmt::format("({})", fmt::join(v, ", "));
}

template <class T>
void copy_block(const T* src, T* dst, std::size_t count) {
    if (count) std::memcpy(dst, src, count * sizeof(T));
}

// zeros(shape) with g written at begin.. along axis: the backward of slice.
Var slice_backward(const Var& g, const Shape& shape, std::size_t axis, std::size_t begin) {
    const AxisSplit whole = split_at(shape, axis);
    const std::size_t length = g.shape()[axis];
    Tensor value = filled(g.dtype(), shape, 0.0);
    visit(value, [&](auto& r) {
        using T = value_t<decltype(r)>;
        const T* src = std::get<xt::xarray<T>>(tensor_of(g)).data();
        for (std::size_t o = 0; o < whole.outer; ++o)
            copy_block(src + o * length * whole.inner, r.data() + (o * whole.n + begin) * whole.inner,
                       length * whole.inner);
    });
    return record("slice_backward", std::move(value), {g}, [axis, begin, length](Backward& bw) {
        bw.add(0, slice(bw.grad, static_cast<std::ptrdiff_t>(axis), begin, begin + length));
    }, Saved::nothing());
}

// zeros(rows, ...) with g's row i added into row rows[i]: the backward of select_rows.
Var scatter_rows(const Var& g, const std::vector<std::size_t>& rows, std::size_t count) {
    Shape shape = g.shape();
    shape[0] = count;
    Tensor value = filled(g.dtype(), shape, 0.0);
    visit(value, [&](auto& r) {
        using T = value_t<decltype(r)>;
        const auto& src = std::get<xt::xarray<T>>(tensor_of(g));
        const std::size_t row = count ? r.size() / count : 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            T* dst = r.data() + rows[i] * row;
            const T* s = src.data() + i * row;
            for (std::size_t k = 0; k < row; ++k) dst[k] += s[k];
        }
    });
    return record("scatter_rows", std::move(value), {g},
                  [rows](Backward& bw) { bw.add(0, select_rows(bw.grad, rows)); }, Saved::nothing());
}

}  // namespace

Var reshape(const Var& x, const std::vector<std::ptrdiff_t>& requested) {
    require_defined("reshape", x);
    Shape shape(requested.size());
    Shape known_extents;
    std::ptrdiff_t infer = -1;
    for (std::size_t i = 0; i < requested.size(); ++i) {
        if (requested[i] == -1 && infer < 0) {
            infer = static_cast<std::ptrdiff_t>(i);
        } else if (requested[i] < 0) {
            throw ShapeError(fmt::format("reshape: invalid shape {} (only one -1 is allowed, no other negatives)",
                                         to_string(requested)));
        } else {
            shape[i] = static_cast<std::size_t>(requested[i]);
            known_extents.push_back(shape[i]);
        }
    }
    const std::optional<std::size_t> counted = element_count(known_extents, item_bytes(x.dtype()));
    if (!counted)
        throw ShapeError(fmt::format("reshape: cannot reshape {} to {}: its extents multiply past 2^63 bytes",
                                     xg::to_string(x.shape()), to_string(requested)));
    const std::size_t known = *counted;
    if (infer >= 0) {
        if (known == 0 || x.size() % known != 0)
            throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) to {}", xg::to_string(x.shape()),
                                         x.size(), to_string(requested)));
        shape[static_cast<std::size_t>(infer)] = x.size() / known;
    } else if (known != x.size()) {
        throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) to {}", xg::to_string(x.shape()),
                                     x.size(), to_string(requested)));
    }
    if (shape == x.shape()) return x;
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = uninitialized<typename A::value_type>(shape);
        std::copy(a.data(), a.data() + a.size(), r.data());
        return r;
    });
    return record("reshape", std::move(value), {x}, [](Backward& bw) {
        bw.add(0, reshape(bw.grad, as_signed(bw.input_shape(0))));
    }, Saved::nothing());
}

Var transpose(const Var& x) {
    require_defined("transpose", x);
    if (x.dim() != 2)
        throw ShapeError(fmt::format("transpose: expects a 2-D variable, got shape {}; pass a permutation of the "
                                     "axes for other ranks",
                                     xg::to_string(x.shape())));
    return transpose(x, {1, 0});
}

Var transpose(const Var& x, const std::vector<std::size_t>& perm) {
    require_defined("transpose", x);
    std::vector<std::size_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> identity(x.dim());
    std::iota(identity.begin(), identity.end(), 0);
    if (sorted != identity)
        throw ShapeError(fmt::format("transpose: ({}) is not a permutation of the axes of shape {}",
                                     fmt::join(perm, ", "), xg::to_string(x.shape())));
    std::vector<std::size_t> inverse(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = i;
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = xt::transpose(a, perm);
        return r;
    });
    return record("transpose", std::move(value), {x},
                  [inverse](Backward& bw) { bw.add(0, transpose(bw.grad, inverse)); }, Saved::nothing());
}

Var concat(const std::vector<Var>& xs0, std::ptrdiff_t axis_arg) {
    if (xs0.empty()) throw Error("concat: needs at least one variable");
    for (const Var& x : xs0) require_defined("concat", x);
    const std::vector<Var> xs = in_common_dtype(xs0);
    const Shape& first = xs[0].shape();
    const std::size_t axis = normalize_axis("concat", axis_arg, first);
    Shape shape = first;
    shape[axis] = 0;
    for (const Var& x : xs) {
        Shape a = x.shape(), b = first;
        if (a.size() == b.size()) a[axis] = b[axis] = 0;
        if (a != b)
            throw ShapeError(fmt::format("concat: cannot join {} and {} along axis {}", xg::to_string(first),
                                         xg::to_string(x.shape()), axis));
        shape[axis] += x.shape()[axis];
    }
    const AxisSplit whole = split_at(shape, axis);
    Tensor value = filled(xs[0].dtype(), shape, 0.0);
    std::vector<std::size_t> offsets;
    visit(value, [&](auto& r) {
        using T = value_t<decltype(r)>;
        std::size_t offset = 0;
        for (const Var& x : xs) {
            const auto& a = std::get<xt::xarray<T>>(tensor_of(x));
            const std::size_t length = a.shape()[axis];
            for (std::size_t o = 0; o < whole.outer; ++o)
                copy_block(a.data() + o * length * whole.inner, r.data() + (o * whole.n + offset) * whole.inner,
                           length * whole.inner);
            offsets.push_back(offset);
            offset += length;
        }
        offsets.push_back(offset);
    });
    return record("concat", std::move(value), xs, [axis, offsets](Backward& bw) {
        for (std::size_t i = 0; i + 1 < offsets.size(); ++i)
            if (bw.needs(i))
                bw.add(i, slice(bw.grad, static_cast<std::ptrdiff_t>(axis), offsets[i], offsets[i + 1]));
    }, Saved::nothing());
}

Var slice(const Var& x, std::ptrdiff_t axis_arg, std::size_t begin, std::size_t end) {
    require_defined("slice", x);
    const std::size_t axis = normalize_axis("slice", axis_arg, x.shape());
    const AxisSplit whole = split_at(x.shape(), axis);
    if (begin > end || end > whole.n)
        throw ShapeError(fmt::format("slice: range [{}, {}) is out of bounds for axis {} of shape {}", begin, end,
                                     axis, xg::to_string(x.shape())));
    if (begin == 0 && end == whole.n) return x;
    Shape shape = x.shape();
    shape[axis] = end - begin;
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = uninitialized<typename A::value_type>(shape);
        for (std::size_t o = 0; o < whole.outer; ++o)
            copy_block(a.data() + (o * whole.n + begin) * whole.inner, r.data() + o * (end - begin) * whole.inner,
                       (end - begin) * whole.inner);
        return r;
    });
    return record("slice", std::move(value), {x}, [axis, begin](Backward& bw) {
        bw.add(0, slice_backward(bw.grad, bw.input_shape(0), axis, begin));
    }, Saved::nothing());
}

Var select(const Var& x, std::ptrdiff_t axis_arg, std::ptrdiff_t index) {
    require_defined("select", x);
    if (x.dim() == 0) throw ShapeError("select: a 0-d variable has no axis to index (use item() for its value)");
    const std::size_t axis = normalize_axis("select", axis_arg, x.shape());
    const auto size = static_cast<std::ptrdiff_t>(x.shape()[axis]);
    if (index < -size || index >= size)
        throw ShapeError(fmt::format("select: index {} is out of range for axis {} of size {} (shape {})", index, axis,
                                     size, xg::to_string(x.shape())));
    const auto begin = static_cast<std::size_t>(index < 0 ? index + size : index);
    std::vector<std::ptrdiff_t> shape(x.shape().begin(), x.shape().end());
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
    return reshape(slice(x, static_cast<std::ptrdiff_t>(axis), begin, begin + 1), shape);
}

Var select_rows(const Var& x, const std::vector<std::size_t>& rows) {
    require_defined("select_rows", x);
    if (x.dim() == 0) throw ShapeError("select_rows: expects at least 1 dimension, got a scalar");
    const std::size_t count = x.shape()[0];
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i] >= count)
            throw ShapeError(fmt::format("select_rows: row {} (at position {}) is out of range for shape {}",
                                         rows[i], i, xg::to_string(x.shape())));
    Shape shape = x.shape();
    shape[0] = rows.size();
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = uninitialized<typename A::value_type>(shape);
        const std::size_t row = count ? a.size() / count : 0;
        for (std::size_t i = 0; i < rows.size(); ++i) copy_block(a.data() + rows[i] * row, r.data() + i * row, row);
        return r;
    });
    return record("select_rows", std::move(value), {x}, [rows, count](Backward& bw) {
        bw.add(0, scatter_rows(bw.grad, rows, count));
    }, Saved::nothing());
}

}  // namespace xg
