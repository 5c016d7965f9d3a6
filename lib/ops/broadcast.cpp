// Broadcasting: the shape rule every binary op checks, the dtype promotion it applies, and the sum_to /
// broadcast_to pair that moves gradients between broadcast shapes.
#include "ops/kernels.hpp"
#include "support/element_count.hpp"

namespace xg {

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
        const std::size_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
        if (da != db && da != 1 && db != 1)
            throw ShapeError(fmt::format("{}: cannot broadcast {} with {}", op, to_string(a), to_string(b)));
        out[i] = da == 1 ? db : da;
    }
    return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const std::size_t lead = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i)
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    return true;
}

std::pair<Var, Var> prepare_binary(const char* op, const Var& a, const Var& b) {
    require_defined(op, a);
    require_defined(op, b);
    broadcast_shape(op, a.shape(), b.shape());
    return same_dtype(a, b);
}

namespace {
// PyTorch's rule: a 0-d operand does not promote one with dimensions (both are floating point here), so
// `x32 * Var(2.0)` stays float32; among operands of one kind, float64 wins.
Dtype result_dtype(const std::vector<Var>& xs) {
    bool any_dimensioned = false;
    for (const Var& x : xs) any_dimensioned = any_dimensioned || x.dim() > 0;
    Dtype dtype = Dtype::float32;
    for (const Var& x : xs)
        if ((x.dim() > 0 || !any_dimensioned) && x.dtype() == Dtype::float64) dtype = Dtype::float64;
    return dtype;
}
}  // namespace

std::vector<Var> in_common_dtype(std::vector<Var> xs) {
    const Dtype dtype = result_dtype(xs);
    for (Var& x : xs) x = x.to(dtype);
    return xs;
}

std::pair<Var, Var> same_dtype(const Var& a, const Var& b) {
    // Every binary op comes here: the common case costs one comparison, no allocation.
    if (a.dtype() == b.dtype()) return {a, b};
    const Dtype dtype = result_dtype({a, b});
    return {a.to(dtype), b.to(dtype)};
}

Var sum_to(const Var& x, const Shape& shape) {
    require_defined("sum_to", x);
    const Shape& from = x.shape();
    if (from == shape) return x;
    if (!broadcasts_to(shape, from))
        throw ShapeError(
            fmt::format("sum_to: cannot sum {} down to {} (it must broadcast back to {})", to_string(from),
                        to_string(shape), to_string(from)));
    const std::size_t lead = from.size() - shape.size();
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = a;
        // Summing the highest axis first keeps the lower axis numbers valid.
        for (std::size_t i = from.size(); i-- > 0;)
            if (i < lead || (shape[i - lead] == 1 && from[i] != 1)) r = sum_along(r, i, i >= lead);
        r.reshape(shape);
        return r;
    });
    return record("sum_to", std::move(value), {x},
                  [](Backward& bw) { bw.add(0, broadcast_to(bw.grad, bw.input_shape(0))); }, Saved::nothing());
}

Var broadcast_to(const Var& x, const Shape& shape) {
    require_defined("broadcast_to", x);
    if (x.shape() == shape) return x;
    if (!broadcasts_to(x.shape(), shape))
        throw ShapeError(fmt::format("broadcast_to: cannot broadcast {} to {}", to_string(x.shape()), to_string(shape)));
    checked_element_count("broadcast_to", shape, x.dtype());
    Tensor value = visit(tensor_of(x), [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        A r = uninitialized<typename A::value_type>(shape);
        if (a.size() == 1)
            std::fill(r.begin(), r.end(), *a.data());
        else
            xt::noalias(r) = xt::broadcast(a, shape);
        return r;
    });
    // The central reduction in Backward::add sums the gradient back to x's shape.
    return record("broadcast_to", std::move(value), {x}, [](Backward& bw) { bw.add(0, bw.grad); },
                  Saved::nothing());
}

}  // namespace xg
