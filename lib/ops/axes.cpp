// Axis arithmetic for the ops that work along one axis (reductions, softmax, concat, slice).
#include "ops/kernels.hpp"

namespace xg {

std::size_t normalize_axis(const char* op, std::ptrdiff_t axis, const Shape& shape) {
    const auto rank = static_cast<std::ptrdiff_t>(shape.size());
    const std::ptrdiff_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        throw ShapeError(fmt::format("{}: axis {} is out of range for shape {}", op, axis, to_string(shape)));
    return static_cast<std::size_t>(a);
}

AxisSplit split_at(const Shape& shape, std::size_t axis) {
    AxisSplit s;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i < axis) s.outer *= shape[i];
        else if (i == axis) s.n = shape[i];
        else s.inner *= shape[i];
    }
    return s;
}

Shape reduced_shape(const Shape& shape, std::size_t axis, bool keepdims) {
    Shape out;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i != axis) out.push_back(shape[i]);
        else if (keepdims) out.push_back(1);
    }
    return out;
}

}  // namespace xg
