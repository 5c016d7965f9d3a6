#include "support/checks.hpp"

namespace xg {

void require_defined(const char* op, const Var& x) {
    if (!x.defined()) throw Error(fmt::format("{}: undefined variable (a default-constructed Var)", op));
}

void require_pool_settings(const char* who, const Size2& kernel, const Size2& stride, const Size2& padding) {
    if (kernel[0] == 0 || kernel[1] == 0)
        throw ShapeError(fmt::format("{}: kernel {} must be positive", who, to_string(kernel)));
    if (stride[0] == 0 || stride[1] == 0)
        throw ShapeError(fmt::format("{}: stride {} must be positive", who, to_string(stride)));
    if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2)
        throw ShapeError(fmt::format("{}: padding {} must be at most half the kernel {}", who, to_string(padding),
                                     to_string(kernel)));
}

void require_stride_and_dilation(const char* who, const Conv2dOptions& options) {
    if (options.stride[0] == 0 || options.stride[1] == 0)
        throw ShapeError(fmt::format("{}: stride {} must be positive", who, to_string(options.stride)));
    if (options.dilation[0] == 0 || options.dilation[1] == 0)
        throw ShapeError(fmt::format("{}: dilation {} must be positive", who, to_string(options.dilation)));
}

}  // namespace xg
