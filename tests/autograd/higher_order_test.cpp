// Second derivatives: create_graph records the backward pass, so gradients are differentiable again.
#include "check.hpp"

#include <cmath>
#include <thread>

using xg::Var;
using Inputs = std::vector<Var>;

TEST_CASE("d²/dx² of x³ is 6x, by grad twice and by backward with create_graph") {
    Var x(2.0, true);
    const Var y = x * x * x;
    const Var dy = xg::grad(y, {x}, Var(), {.create_graph = true})[0];
    CHECK(dy.item() == 12.0);  // 3x²
    CHECK(dy.requires_grad());
    CHECK(xg::grad(dy, {x})[0].item() == 12.0);  // 6x

    Var z(-1.5, true);
    (xg::pow(z, 3.0)).backward(Var(), false, true);
    const Var first = z.grad();
    CHECK(first.item() == doctest::Approx(6.75));
    z.clear_grad();
    first.backward();
    CHECK(z.grad().item() == doctest::Approx(-9.0));
}

TEST_CASE("second derivatives of every op with a non-trivial one") {
    xg::Generator g(11);
    const Inputs any = {check::input(g, {3, 2})};
    const Inputs positive = {check::input(g, {3, 2}, 0.3, 2.0)};
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::sigmoid(x[0])); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::tanh(x[0])); }, any);
    // Nested, the outer backward's gradient depends on x: the inner backward op's VJP for g is used.
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::sigmoid(xg::sigmoid(x[0]))); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::tanh(xg::tanh(x[0]))); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::exp(x[0])); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::log(x[0])); }, positive);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::sqrt(x[0])); }, positive);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(x[0], 2.5)); }, positive);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(x[0], x[1])); },
                           {check::input(g, {3, 2}, 0.5, 2.0), check::input(g, {2})});
    check::second_gradient([](const Inputs& x) { return xg::sum(x[0] / x[1]); },
                           {check::input(g, {3, 2}), check::input(g, {3, 1}, 0.5, 2.0)});
    check::second_gradient([](const Inputs& x) { return xg::sum(x[0] * x[1] * x[1]); },
                           {check::input(g, {3, 2}), check::input(g, {2})});
    check::second_gradient([](const Inputs& x) { return xg::mean(xg::pow(xg::sum(x[0], 0, true), 2.0)); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::broadcast_to(x[0], {4, 3, 2}), 3.0)); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::softmax(x[0]), 2.0)); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::exp(xg::log_softmax(x[0], 0))); }, any);
    check::second_gradient([](const Inputs& x) { return xg::softmax_cross_entropy(x[0], {1, 0, 1}); }, any);
    check::second_gradient([](const Inputs& x) { return xg::softmax_cross_entropy(x[0], xg::softmax(x[1])); },
                           {check::input(g, {3, 2}), check::input(g, {3, 2})});
    check::second_gradient([](const Inputs& x) { return xg::binary_cross_entropy_with_logits(x[0], x[1]); },
                           {check::input(g, {3, 2}), xg::rand({3, 2}, g, xg::Dtype::float64).set_requires_grad()});
    check::second_gradient([](const Inputs& x) { return xg::mse(x[0] * x[0], x[1]); },
                           {check::input(g, {3, 2}), check::input(g, {3, 2})});
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::matmul(x[0], x[1]), 2.0)); },
                           {check::input(g, {3, 4}), check::input(g, {4, 2})});
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::tanh(xg::affine(x[0], x[1], x[2]))); },
                           {check::input(g, {3, 4}), check::input(g, {4, 2}), check::input(g, {2})});
    check::second_gradient(
        [](const Inputs& x) {
            return xg::sum(xg::pow(xg::select_rows(xg::concat({xg::slice(x[0], 1, 0, 1), x[0]}, 1), {2, 0, 2}), 3.0));
        },
        any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::max(x[0], 1), 3.0)); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::maximum(x[0], x[1]) * x[0]); },
                           {check::input(g, {3, 2}), check::input(g, {3, 2})});
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::abs(x[0]) * xg::relu(x[0]) * x[0]); }, any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::leaky_relu(x[0], 0.2) * x[0]); }, any);
    check::second_gradient(
        [](const Inputs& x) {
            xg::Generator mask(3);
            return xg::sum(xg::pow(xg::dropout(x[0], 0.5, mask), 2.0));
        },
        any);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::reshape(xg::transpose(x[0]), {-1}), 3.0)); },
                           any);
}

TEST_CASE("second derivatives of conv2d and the pools, through their recorded backward ops") {
    xg::Generator g(12);
    // sum(y²) of a convolution, bilinear in input and weight: every VJP of both backward ops takes part.
    const std::vector<xg::Conv2dOptions> options = {
        {}, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}}, {.padding = {1, 1}, .groups = 2}};
    for (const xg::Conv2dOptions& o : options) {
        CAPTURE(o.groups);
        check::second_gradient(
            [&](const Inputs& x) { return xg::sum(xg::pow(xg::conv2d(x[0], x[1], x[2], o), 2.0)); },
            {check::input(g, {2, 2, 5, 4}), check::input(g, {4, 2 / o.groups, 3, 2}), check::input(g, {4})});
    }
    // The pools' backward is linear in g, so y³ makes their second derivative depend on the input.
    const Inputs planes = {check::input(g, {2, 2, 5, 6})};
    check::second_gradient(
        [](const Inputs& x) { return xg::sum(xg::pow(xg::max_pool2d(x[0], {3, 2}, {2, 2}, {1, 1}), 3.0)); }, planes);
    check::second_gradient(
        [](const Inputs& x) { return xg::sum(xg::pow(xg::avg_pool2d(x[0], {3, 2}, {2, 2}, {1, 1}), 3.0)); }, planes);
    check::second_gradient([](const Inputs& x) { return xg::sum(xg::pow(xg::adaptive_avg_pool2d(x[0], {3, 4}), 3.0)); },
                           planes);
}

TEST_CASE("third derivative of a convolution: the backward ops' own VJPs are differentiable") {
    // f(x) = Σ conv2d(x, w)³ with a one-element kernel w = 2 is Σ 8x³: f' = 24x², f'' (along ones) = 48x, f''' = 48.
    Var x(xt::xarray<double>{{{{0.5, -1.0}, {2.0, 0.25}}}}, true);
    const Var w = xg::full({1, 1, 1, 1}, 2.0, xg::Dtype::float64).set_requires_grad();
    const Var d1 = xg::grad(xg::sum(xg::pow(xg::conv2d(x, w), 3.0)), {x}, Var(), {.create_graph = true})[0];
    const Var d2 = xg::grad(xg::sum(d1), {x}, Var(), {.create_graph = true})[0];
    const Var d3 = xg::grad(xg::sum(d2), {x})[0];
    // Within rounding: xtensor's vectorized pow gives 2⁴ = 16 to the last bit or two.
    CHECK(xt::allclose(d1.value<double>(), xt::xarray<double>{{{{6.0, 24.0}, {96.0, 1.5}}}}, 1e-14, 0.0));
    CHECK(xt::allclose(d2.value<double>(), xt::xarray<double>{{{{24.0, -48.0}, {96.0, 12.0}}}}, 1e-14, 0.0));
    CHECK(xt::allclose(d3.value<double>(), xt::xarray<double>{{{{48.0, 48.0}, {48.0, 48.0}}}}, 1e-14, 0.0));
}

TEST_CASE("a Hessian-vector product of a small network against finite differences of its gradient") {
    xg::Generator g(12);
    const Var x = xg::randn({5, 3}, g, xg::Dtype::float64);
    const std::vector<std::size_t> labels = {0, 1, 1, 0, 1};
    const auto loss = [&](const Var& w1, const Var& w2) {
        return xg::softmax_cross_entropy(xg::matmul(xg::tanh(xg::matmul(x, w1)), w2), labels);
    };
    const Var w1 = xg::randn({3, 4}, g, xg::Dtype::float64).set_requires_grad();
    const Var w2 = xg::randn({4, 2}, g, xg::Dtype::float64).set_requires_grad();
    const Var v1 = xg::randn({3, 4}, g, xg::Dtype::float64);
    const Var v2 = xg::randn({4, 2}, g, xg::Dtype::float64);

    // Hv = d/dw (∇L · v), by backward through the recorded backward pass.
    const auto gradients = xg::grad(loss(w1, w2), {w1, w2}, Var(), {.create_graph = true});
    const Var directional = xg::sum(gradients[0] * v1) + xg::sum(gradients[1] * v2);
    const auto hv = xg::grad(directional, {w1, w2});

    // (∇L(w + h·v) − ∇L(w − h·v)) / 2h.
    const double h = 1e-5;
    const auto gradient_at = [&](double step) {
        const Var a = (w1 + v1 * step).detach().set_requires_grad();
        const Var b = (w2 + v2 * step).detach().set_requires_grad();
        return xg::grad(loss(a, b), {a, b});
    };
    const auto plus = gradient_at(h), minus = gradient_at(-h);
    for (std::size_t k = 0; k < 2; ++k) {
        const xt::xarray<double> numeric = (plus[k].value<double>() - minus[k].value<double>()) / (2 * h);
        CAPTURE(k);
        CHECK(xt::allclose(hv[k].value<double>(), numeric, 1e-6, 1e-8));
        CHECK(xt::amax(xt::abs(numeric))() > 1e-3);  // a real, non-zero Hessian-vector product
    }
}

TEST_CASE("third derivative through two create_graph levels") {
    // f = exp(2x): f''' = 8·exp(2x).
    Var x(0.7, true);
    const Var d1 = xg::grad(xg::exp(x * 2.0), {x}, Var(), {.create_graph = true})[0];
    const Var d2 = xg::grad(d1, {x}, Var(), {.create_graph = true})[0];
    const Var d3 = xg::grad(d2, {x})[0];
    CHECK(d1.item() == doctest::Approx(2 * std::exp(1.4)));
    CHECK(d2.item() == doctest::Approx(4 * std::exp(1.4)));
    CHECK(d3.item() == doctest::Approx(8 * std::exp(1.4)));
}

TEST_CASE("third derivatives of sigmoid and tanh, whose backward ops have VJPs of their own") {
    // σ' = σ(1 − σ), σ'' = σ'(1 − 2σ), σ''' = σ'(1 − 6σ + 6σ²); tanh' = 1 − t², tanh'' = −2t(1 − t²),
    // tanh''' = (1 − t²)(6t² − 2).
    const double at = 0.4, s = 1 / (1 + std::exp(-at)), t = std::tanh(at);
    const auto derivatives = [](const std::function<Var(const Var&)>& f, double at) {
        Var x(at, true);
        const Var d1 = xg::grad(f(x), {x}, Var(), {.create_graph = true})[0];
        const Var d2 = xg::grad(d1, {x}, Var(), {.create_graph = true})[0];
        return std::vector<double>{d1.item(), d2.item(), xg::grad(d2, {x})[0].item()};
    };
    const std::vector<double> sigmoid = derivatives([](const Var& x) { return xg::sigmoid(x); }, at);
    CHECK(sigmoid[0] == doctest::Approx(s * (1 - s)).epsilon(1e-12));
    CHECK(sigmoid[1] == doctest::Approx(s * (1 - s) * (1 - 2 * s)).epsilon(1e-12));
    CHECK(sigmoid[2] == doctest::Approx(s * (1 - s) * (1 - 6 * s + 6 * s * s)).epsilon(1e-12));
    const std::vector<double> tanh = derivatives([](const Var& x) { return xg::tanh(x); }, at);
    CHECK(tanh[0] == doctest::Approx(1 - t * t).epsilon(1e-12));
    CHECK(tanh[1] == doctest::Approx(-2 * t * (1 - t * t)).epsilon(1e-12));
    CHECK(tanh[2] == doctest::Approx((1 - t * t) * (6 * t * t - 2)).epsilon(1e-12));
}

TEST_CASE("a create_graph sweep that records past the tape's compaction point reads no moved entry") {
    // A fresh thread's tape compacts when it reaches 1024 entries. With `dead` finished ops recorded first, the
    // sweep below records its own ops across that point for some `dead` in this range; it once read entries
    // that compaction had moved, and ran a VJP twice (dy/du doubled).
    for (int dead = 990; dead <= 1030; ++dead) {
        std::thread([dead] {
            Var x(xt::xarray<double>{0.5, -1.0}, true);
            for (int i = 0; i < dead; ++i) (void)xg::exp(x);
            const Var u = x * 2.0, h = xg::tanh(u), y = xg::sum(xg::pow(h, 3.0));
            const std::vector<Var> g = xg::grad(y, {h, u}, Var(), {.create_graph = true});
            for (std::size_t i = 0; i < 2; ++i) {
                const double hi = h.value<double>()(i);
                INFO("dead ops " << dead << ", element " << i);
                CHECK(g[0].value<double>()(i) == doctest::Approx(3 * hi * hi).epsilon(1e-12));
                CHECK(g[1].value<double>()(i) == doctest::Approx(3 * hi * hi * (1 - hi * hi)).epsilon(1e-12));
            }
        }).join();
    }
}
