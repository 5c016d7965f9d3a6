// Matrix products and linear solves. One primitive, gemm with transpose flags, serves matmul and every backward
// of it, so no transpose is ever materialised and grad-of-grad stays within the same op.
#include "ops/blas.hpp"
#include "ops/kernels.hpp"

namespace xg {

namespace {

std::string operand(const Shape& shape, bool transposed) { return to_string(shape) + (transposed ? "ᵀ" : ""); }

}  // namespace

Var gemm(const char* op, const Var& a0, const Var& b0, bool ta, bool tb) {
    require_defined(op, a0);
    require_defined(op, b0);
    // Named references, not a structured binding: the lambdas below capture them (clang 14 cannot).
    const std::pair<Var, Var> operands = same_dtype(a0, b0);
    const Var &a = operands.first, &b = operands.second;
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    if (sa.size() != 2 || sb.size() != 2)
        throw ShapeError(fmt::format("{}: expects 2-D operands, got {} and {}", op, to_string(sa), to_string(sb)));
    const std::size_t m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1];
    const std::size_t k2 = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1];
    if (k != k2)
        throw ShapeError(fmt::format("{}: cannot multiply {} by {}", op, operand(sa, ta), operand(sb, tb)));
    Tensor value = visit(tensor_of(a), [&](const auto& x) -> Tensor {
        using A = std::decay_t<decltype(x)>;
        A r = uninitialized<typename A::value_type>({m, n});
        blas::gemm(ta, tb, m, n, k, x.data(), std::get<A>(tensor_of(b)).data(), 0, r.data());
        return r;
    });
    return record(op, std::move(value), {a, b}, [ta, tb](Backward& bw) {
        const Var& g = bw.grad;
        Var x = bw.input(0), y = bw.input(1);
        // C = op(A)·op(B) gives dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, transposed back where op transposed.
        if (bw.needs(0)) ta ? bw.add_product(0, y, g, tb, true) : bw.add_product(0, g, y, false, !tb);
        if (bw.needs(1)) tb ? bw.add_product(1, g, x, true, ta) : bw.add_product(1, x, g, !ta, false);
    }, Saved::only_inputs({0, 1}));
}

Var matmul(const Var& a, const Var& b) { return gemm("matmul", a, b, false, false); }

Var affine(const Var& x0, const Var& w0, const Var& b0) {
    for (const Var* v : {&x0, &w0, &b0}) require_defined("affine", *v);
    // Only a mix of dtypes needs the list in_common_dtype converts (the common case allocates nothing).
    const bool mixed = x0.dtype() != w0.dtype() || w0.dtype() != b0.dtype();
    const std::vector<Var> converted = mixed ? in_common_dtype({x0, w0, b0}) : std::vector<Var>{};
    const Var &x = mixed ? converted[0] : x0, &w = mixed ? converted[1] : w0, &b = mixed ? converted[2] : b0;
    const Shape &sx = x.shape(), &sw = w.shape(), &sb = b.shape();
    if (sx.size() != 2 || sw.size() != 2 || sx[1] != sw[0])
        throw ShapeError(fmt::format("affine: cannot multiply {} by {}", to_string(sx), to_string(sw)));
    if (sb.size() != 1 || sb[0] != sw[1])
        throw ShapeError(fmt::format("affine: bias of shape {} does not fit {}·{}; it must be ({},)", to_string(sb),
                                     to_string(sx), to_string(sw), sw[1]));
    const std::size_t m = sx[0], k = sx[1], n = sw[1];
    Tensor value = visit(tensor_of(x), [&](const auto& xv) -> Tensor {
        using A = std::decay_t<decltype(xv)>;
        const A& bias = std::get<A>(tensor_of(b));
        A r = uninitialized<typename A::value_type>({m, n});
        for (std::size_t i = 0; i < m; ++i) std::copy(bias.data(), bias.data() + n, r.data() + i * n);
        blas::gemm(false, false, m, n, k, xv.data(), std::get<A>(tensor_of(w)).data(), 1, r.data());
        return r;
    });
    return record("affine", std::move(value), {x, w, b}, [](Backward& bw) {
        const Var& g = bw.grad;
        if (bw.needs(0)) bw.add_product(0, g, bw.input(1), false, true);
        if (bw.needs(1)) bw.add_product(1, bw.input(0), g, true, false);
        if (bw.needs(2)) bw.add(2, sum(g, 0));
    }, Saved::only_inputs({0, 1}));
}

Var solve(const Var& a0, const Var& b0) {
    require_defined("solve", a0);
    require_defined("solve", b0);
    // Named references, not a structured binding: the lambdas below capture them (clang 14 cannot).
    const std::pair<Var, Var> operands = same_dtype(a0, b0);
    const Var &a = operands.first, &b = operands.second;
    const Shape &sa = a.shape(), &sb = b.shape();
    if (sa.size() != 2 || sa[0] != sa[1])
        throw ShapeError(fmt::format("solve: the matrix must be square (n, n), got {}", to_string(sa)));
    if ((sb.size() != 1 && sb.size() != 2) || sb[0] != sa[0])
        throw ShapeError(fmt::format("solve: the right-hand side must be ({},) or ({}, k) for a {} matrix, got {}",
                                     sa[0], sa[0], to_string(sa), to_string(sb)));
    const std::size_t n = sa[0], k = sb.size() == 2 ? sb[1] : 1;
    Tensor value = visit(tensor_of(a), [&](const auto& matrix) -> Tensor {
        using A = std::decay_t<decltype(matrix)>;
        A x = std::get<A>(tensor_of(b));
        const int info = blas::solve(n, k, matrix.data(), x.data());
        if (info > 0)
            throw Error(fmt::format("solve: the {} matrix is singular (U({}, {}) of its LU factors is zero)",
                                    to_string(sa), info - 1, info - 1));
        return x;
    });
    return record("solve", std::move(value), {a, b}, [](Backward& bw) {
        // x = A⁻¹b: db = A⁻ᵀg, dA = −db·xᵀ (an outer product when b is a vector).
        const Var db = solve(transpose(bw.input(0)), bw.grad);
        if (bw.needs(1)) bw.add(1, db);
        if (bw.needs(0)) {
            const Var x = bw.output();
            bw.add(0, x.dim() == 1 ? -matmul(reshape(db, {-1, 1}), reshape(x, {1, -1})) : -matmul(db, transpose(x)));
        }
    });
}

}  // namespace xg
