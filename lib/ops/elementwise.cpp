// Elementwise primitives. Each op: its forward value, then the lambda that maps the output gradient to
// input gradients, written with the same differentiable ops so that grad-of-grad works.
#include "ops/kernels.hpp"

namespace xg {

Var add(const Var& a0, const Var& b0) {
    auto [a, b] = prepare_binary("add", a0, b0);
    return record("add", map_binary(a, b, [](const auto& x, const auto& y) { return x + y; }), {a, b},
                  [](Backward& bw) {
                      bw.add(0, bw.grad);
                      bw.add(1, bw.grad);
                  },
                  Saved::nothing());
}

Var sub(const Var& a0, const Var& b0) {
    auto [a, b] = prepare_binary("sub", a0, b0);
    return record("sub", map_binary(a, b, [](const auto& x, const auto& y) { return x - y; }), {a, b},
                  [](Backward& bw) {
                      bw.add(0, bw.grad);
                      if (bw.needs(1)) bw.add(1, neg(bw.grad));
                  },
                  Saved::nothing());
}

Var mul(const Var& a0, const Var& b0) {
    auto [a, b] = prepare_binary("mul", a0, b0);
    return record("mul", map_binary(a, b, [](const auto& x, const auto& y) { return x * y; }), {a, b},
                  [](Backward& bw) {
                      if (bw.needs(0)) bw.add(0, bw.grad * bw.input(1));
                      if (bw.needs(1)) bw.add(1, bw.grad * bw.input(0));
                  },
                  Saved::only_inputs({0, 1}));
}

Var div(const Var& a0, const Var& b0) {
    auto [a, b] = prepare_binary("div", a0, b0);
    return record("div", map_binary(a, b, [](const auto& x, const auto& y) { return x / y; }), {a, b},
                  [](Backward& bw) {
                      if (bw.needs(0)) bw.add(0, bw.grad / bw.input(1));
                      if (bw.needs(1)) bw.add(1, neg(bw.grad * bw.output() / bw.input(1)));
                  },
                  Saved::only_inputs({1}).with_output());
}

Var neg(const Var& x) {
    require_defined("neg", x);
    return record("neg", map_value(x, [](const auto& a) { return -a; }), {x},
                  [](Backward& bw) { bw.add(0, neg(bw.grad)); }, Saved::nothing());
}

Var add(const Var& x, double s) {
    require_defined("add", x);
    return record("add_scalar", map_value(x, [s](const auto& a) { return a + static_cast<value_t<decltype(a)>>(s); }),
                  {x}, [](Backward& bw) { bw.add(0, bw.grad); }, Saved::nothing());
}

Var mul(const Var& x, double s) {
    require_defined("mul", x);
    return record("mul_scalar", map_value(x, [s](const auto& a) { return a * static_cast<value_t<decltype(a)>>(s); }),
                  {x}, [s](Backward& bw) { bw.add(0, bw.grad * s); }, Saved::nothing());
}

Var pow(const Var& x, double p) {
    require_defined("pow", x);
    return record("pow_scalar",
                  map_value(x, [p](const auto& a) { return xt::pow(a, static_cast<value_t<decltype(a)>>(p)); }), {x},
                  [p](Backward& bw) { bw.add(0, bw.grad * pow(bw.input(0), p - 1.0) * p); },
                  Saved::only_inputs({0}));
}

Var pow(const Var& base0, const Var& exponent0) {
    auto [base, exponent] = prepare_binary("pow", base0, exponent0);
    return record("pow", map_binary(base, exponent, [](const auto& x, const auto& y) { return xt::pow(x, y); }),
                  {base, exponent}, [](Backward& bw) {
                      if (bw.needs(0))
                          bw.add(0, bw.grad * bw.input(1) * pow(bw.input(0), bw.input(1) - 1.0));
                      if (bw.needs(1)) bw.add(1, bw.grad * bw.output() * log(bw.input(0)));
                  });
}

namespace {
// The share of the gradient that goes to a: 1 where a wins, 0 where b wins, ½ on ties.
template <class Wins>
Var share_of_a(const Var& a, const Var& b, Wins wins) {
    return constant(map_binary(a, b, [&](const auto& x, const auto& y) {
        using T = value_t<decltype(x + y)>;
        return xt::cast<T>(wins(x, y)) + T(0.5) * xt::cast<T>(xt::equal(x, y));
    }));
}

template <class Pick, class Wins>
Var extremum(const char* op, const Var& a0, const Var& b0, Pick pick, Wins wins) {
    auto [a, b] = prepare_binary(op, a0, b0);
    return record(op, map_binary(a, b, pick), {a, b}, [wins](Backward& bw) {
        Var share = share_of_a(bw.input(0), bw.input(1), wins);
        if (bw.needs(0)) bw.add(0, bw.grad * share);
        if (bw.needs(1)) bw.add(1, bw.grad * (1.0 - share));
    }, Saved::only_inputs({0, 1}));
}
}  // namespace

// A NaN on either side gives NaN, as in PyTorch (std::max would keep whichever side it compared first).
Var maximum(const Var& a, const Var& b) {
    return extremum(
        "maximum", a, b, [](const auto& x, const auto& y) { return xt::where(y != y, y, xt::where(x < y, y, x)); },
        [](const auto& x, const auto& y) { return x > y; });
}

Var minimum(const Var& a, const Var& b) {
    return extremum(
        "minimum", a, b, [](const auto& x, const auto& y) { return xt::where(y != y, y, xt::where(y < x, y, x)); },
        [](const auto& x, const auto& y) { return x < y; });
}

Var exp(const Var& x) {
    require_defined("exp", x);
    return record("exp", map_value(x, [](const auto& a) { return xt::exp(a); }), {x},
                  [](Backward& bw) { bw.add(0, bw.grad * bw.output()); }, Saved::only_output());
}

Var log(const Var& x) {
    require_defined("log", x);
    return record("log", map_value(x, [](const auto& a) { return xt::log(a); }), {x},
                  [](Backward& bw) { bw.add(0, bw.grad / bw.input(0)); }, Saved::only_inputs({0}));
}

Var sqrt(const Var& x) {
    require_defined("sqrt", x);
    return record("sqrt", map_value(x, [](const auto& a) { return xt::sqrt(a); }), {x},
                  [](Backward& bw) { bw.add(0, bw.grad / (bw.output() * 2.0)); }, Saved::only_output());
}

Var abs(const Var& x) {
    require_defined("abs", x);
    return record("abs", map_value(x, [](const auto& a) { return xt::abs(a); }), {x}, [](Backward& bw) {
        Var sign = constant(map_value(bw.input(0), [](const auto& a) { return xt::sign(a); }));
        bw.add(0, bw.grad * sign);
    }, Saved::only_inputs({0}));
}

namespace {
// g·y·(1 − y), sigmoid's backward from its output y in one pass instead of three ops; differentiable in g and y.
Var sigmoid_backward(const Var& g, const Var& y) {
    Tensor value = map_binary(g, y, [](const auto& gv, const auto& yv) {
        using T = value_t<decltype(gv)>;
        return gv * yv * (T(1) - yv);
    });
    return record("sigmoid_backward", std::move(value), {g, y}, [](Backward& bw) {
        if (bw.needs(0)) bw.add(0, sigmoid_backward(bw.grad, bw.input(1)));
        if (bw.needs(1)) bw.add(1, bw.grad * bw.input(0) * (1.0 - 2.0 * bw.input(1)));
    }, Saved::only_inputs({0, 1}));
}

// g·(1 − y²), tanh's backward from its output y in one pass; differentiable in g and y.
Var tanh_backward(const Var& g, const Var& y) {
    Tensor value = map_binary(g, y, [](const auto& gv, const auto& yv) {
        using T = value_t<decltype(gv)>;
        return gv * (T(1) - yv * yv);
    });
    return record("tanh_backward", std::move(value), {g, y}, [](Backward& bw) {
        if (bw.needs(0)) bw.add(0, tanh_backward(bw.grad, bw.input(1)));
        if (bw.needs(1)) bw.add(1, bw.grad * bw.input(0) * bw.input(1) * -2.0);
    }, Saved::only_inputs({0, 1}));
}
}  // namespace

Var sigmoid(const Var& x) {
    require_defined("sigmoid", x);
    return record("sigmoid", map_value(x, [](const auto& a) {
                      using T = value_t<decltype(a)>;
                      return T(1) / (T(1) + xt::exp(-a));
                  }),
                  {x}, [](Backward& bw) { bw.add(0, sigmoid_backward(bw.grad, bw.output())); }, Saved::only_output());
}

Var tanh(const Var& x) {
    require_defined("tanh", x);
    return record("tanh", map_value(x, [](const auto& a) { return xt::tanh(a); }), {x},
                  [](Backward& bw) { bw.add(0, tanh_backward(bw.grad, bw.output())); }, Saved::only_output());
}

namespace {
// g where x > 0, slope·g elsewhere: the backward of relu and leaky_relu, itself differentiable in g.
// Plain loops, as relu's forward (see there); g and x always have one shape and dtype here.
Var relu_backward(const Var& g, const Var& x, double slope) {
    Tensor value = g.visit_value([&](const auto& gv) -> Tensor {
        using T = value_t<decltype(gv)>;
        auto r = uninitialized<T>(gv.shape());
        const T* __restrict gradient = gv.data();
        const T* __restrict input = x.value<T>().data();
        T* __restrict out = r.data();
        const auto s = static_cast<T>(slope);
        // A factor picked per element, then one product: a product on one side only compiles to a branch per
        // element (it might raise a floating-point exception the other side would not).
        const std::size_t n = gv.size();
        for (std::size_t i = 0; i < n; ++i) out[i] = gradient[i] * (input[i] > T(0) ? T(1) : s);
        return r;
    });
    return record("relu_backward", std::move(value), {g, x},
                  [slope](Backward& bw) { bw.add(0, relu_backward(bw.grad, bw.input(1), slope)); },
                  Saved::only_inputs({1}));
}
}  // namespace

Var relu(const Var& x) {
    require_defined("relu", x);
    // A plain loop: as an xtensor expression into an array from uninitialized(), whose origin the compiler cannot
    // see, it reloaded the input's data pointer at every element and took twice as long. a <= 0 is false for NaN,
    // which passes through as in PyTorch.
    Tensor value = x.visit_value([](const auto& a) -> Tensor {
        using T = value_t<decltype(a)>;
        auto r = uninitialized<T>(a.shape());
        const T* __restrict in = a.data();
        T* __restrict out = r.data();
        const std::size_t n = a.size();
        for (std::size_t i = 0; i < n; ++i) out[i] = in[i] <= T(0) ? T(0) : in[i];
        return r;
    });
    // From the output, y > 0 exactly where x > 0, as PyTorch's: the input is then freed when nothing else needs it.
    return record("relu", std::move(value), {x},
                  [](Backward& bw) { bw.add(0, relu_backward(bw.grad, bw.output(), 0.0)); }, Saved::only_output());
}

Var leaky_relu(const Var& x, double negative_slope) {
    require_defined("leaky_relu", x);
    if (!std::isfinite(negative_slope))
        throw Error(fmt::format("leaky_relu: negative_slope must be a finite number, got {}", negative_slope));
    Tensor value = map_value(x, [negative_slope](const auto& a) {
        using T = value_t<decltype(a)>;
        return xt::where(a > T(0), a, a * static_cast<T>(negative_slope));
    });
    return record("leaky_relu", std::move(value), {x}, [negative_slope](Backward& bw) {
        bw.add(0, relu_backward(bw.grad, bw.input(0), negative_slope));
    }, Saved::only_inputs({0}));
}

}  // namespace xg
