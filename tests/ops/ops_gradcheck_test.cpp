// Every primitive's vector-Jacobian product against central differences, in float64 on random inputs,
// including broadcasting and keepdims; plus forward values checked by hand.
#include "check.hpp"

#include <cmath>
#include <limits>
#include <optional>

using xg::Var;
using Inputs = std::vector<Var>;

namespace {

// Inputs with no two elements within 0.1 of each other or of zero, where max, abs, relu and maximum are smooth.
Var spread(xg::Generator& generator, const xg::Shape& shape, double offset = 0.0) {
    Var x = xg::zeros(shape, xg::Dtype::float64);
    auto& v = x.mutable_value<double>();
    std::vector<double> values(v.size());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = (i + 1) * 0.37 * (i % 2 ? 1 : -1) + offset;
    for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[generator.below(i)]);
    std::copy(values.begin(), values.end(), v.begin());
    return x.set_requires_grad();
}

}  // namespace

TEST_CASE("binary arithmetic, same shapes and broadcast") {
    xg::Generator g(1);
    const std::vector<std::pair<xg::Shape, xg::Shape>> shapes = {
        {{2, 3}, {2, 3}}, {{3, 1}, {1, 4}}, {{2, 3}, {3}}, {{}, {2, 3}}, {{4, 1, 3}, {2, 1}}};
    for (const auto& [sa, sb] : shapes) {
        CAPTURE(xg::to_string(sa));
        CAPTURE(xg::to_string(sb));
        const Inputs in = {check::input(g, sa), check::input(g, sb)};
        check::gradient([](const Inputs& x) { return x[0] + x[1]; }, in);
        check::gradient([](const Inputs& x) { return x[0] - x[1]; }, in);
        check::gradient([](const Inputs& x) { return x[0] * x[1]; }, in);
        const Inputs positive = {check::input(g, sa), check::input(g, sb, 0.5, 2.0)};
        check::gradient([](const Inputs& x) { return x[0] / x[1]; }, positive);
        check::gradient([](const Inputs& x) { return xg::pow(x[1], x[0]); }, positive);
        check::gradient([](const Inputs& x) { return xg::maximum(x[0], x[1]); }, {spread(g, sa), spread(g, sb, 0.05)});
        check::gradient([](const Inputs& x) { return xg::minimum(x[0], x[1]); }, {spread(g, sa), spread(g, sb, 0.05)});
    }
}

TEST_CASE("scalar operators and neg") {
    xg::Generator g(2);
    const Inputs in = {check::input(g, {3, 2})};
    check::gradient([](const Inputs& x) { return -x[0]; }, in);
    check::gradient([](const Inputs& x) { return 3.0 + x[0] * 2.5 - 1.0; }, in);
    check::gradient([](const Inputs& x) { return 1.0 - x[0] / 4.0; }, in);
    check::gradient([](const Inputs& x) { return 2.0 / (x[0] + 3.0); }, in);
    check::gradient([](const Inputs& x) { return xg::pow(x[0], 3.0); }, in);
    check::gradient([](const Inputs& x) { return xg::pow(x[0] + 3.0, -1.5); }, in);
}

TEST_CASE("elementwise functions") {
    xg::Generator g(3);
    const Inputs any = {check::input(g, {4, 3})};
    const Inputs positive = {check::input(g, {4, 3}, 0.2, 3.0)};
    check::gradient([](const Inputs& x) { return xg::exp(x[0]); }, any);
    check::gradient([](const Inputs& x) { return xg::log(x[0]); }, positive);
    check::gradient([](const Inputs& x) { return xg::sqrt(x[0]); }, positive);
    check::gradient([](const Inputs& x) { return xg::sigmoid(x[0]); }, any);
    check::gradient([](const Inputs& x) { return xg::tanh(x[0]); }, any);
    check::gradient([](const Inputs& x) { return xg::abs(x[0]); }, {spread(g, {4, 3})});
    check::gradient([](const Inputs& x) { return xg::relu(x[0]); }, {spread(g, {4, 3})});
    check::gradient([](const Inputs& x) { return xg::leaky_relu(x[0], 0.1); }, {spread(g, {4, 3})});
}

TEST_CASE("reductions, all and per axis, with and without keepdims") {
    xg::Generator g(4);
    const Inputs in = {check::input(g, {2, 3, 4})};
    check::gradient([](const Inputs& x) { return xg::sum(x[0]); }, in);
    check::gradient([](const Inputs& x) { return xg::mean(x[0]); }, in);
    for (std::ptrdiff_t axis : {0, 1, 2, -1}) {
        for (bool keepdims : {false, true}) {
            CAPTURE(axis);
            CAPTURE(keepdims);
            check::gradient([=](const Inputs& x) { return xg::sum(x[0], axis, keepdims); }, in);
            check::gradient([=](const Inputs& x) { return xg::mean(x[0], axis, keepdims); }, in);
            check::gradient([=](const Inputs& x) { return xg::max(x[0], axis, keepdims); }, {spread(g, {2, 3, 4})});
        }
    }
    check::gradient([](const Inputs& x) { return xg::sum_to(x[0], {3, 1}); }, in);
    check::gradient([](const Inputs& x) { return xg::sum_to(x[0], {4}); }, in);
}

TEST_CASE("shape ops") {
    xg::Generator g(5);
    const Inputs in = {check::input(g, {2, 3, 4})};
    check::gradient([](const Inputs& x) { return xg::reshape(x[0], {6, -1}); }, in);
    check::gradient([](const Inputs& x) { return xg::transpose(x[0], {2, 0, 1}); }, in);
    check::gradient([](const Inputs& x) { return xg::transpose(xg::reshape(x[0], {4, 6})); }, in);
    check::gradient([](const Inputs& x) { return xg::broadcast_to(x[0], {5, 2, 3, 4}); }, in);
    check::gradient([](const Inputs& x) { return xg::broadcast_to(xg::sum(x[0], 1, true), {2, 3, 4}); }, in);
    check::gradient([](const Inputs& x) { return xg::slice(x[0], 1, 1, 3); }, in);
    check::gradient([](const Inputs& x) { return xg::slice(x[0], -1, 0, 1); }, in);
    check::gradient([](const Inputs& x) { return xg::select_rows(xg::reshape(x[0], {6, 4}), {5, 0, 5, 2}); }, in);
    const Inputs pieces = {check::input(g, {2, 3}), check::input(g, {2, 1}), check::input(g, {2, 2})};
    check::gradient([](const Inputs& x) { return xg::concat({x[0], x[1], x[2]}, 1); }, pieces);
    check::gradient([](const Inputs& x) { return xg::concat({x[0], x[0]}, 0); }, pieces);
}

TEST_CASE("matmul and affine") {
    xg::Generator g(6);
    check::gradient([](const Inputs& x) { return xg::matmul(x[0], x[1]); }, {check::input(g, {3, 5}), check::input(g, {5, 2})});
    check::gradient([](const Inputs& x) { return xg::matmul(x[0], xg::transpose(x[0])); }, {check::input(g, {3, 4})});
    check::gradient([](const Inputs& x) { return xg::affine(x[0], x[1], x[2]); },
                    {check::input(g, {4, 3}), check::input(g, {3, 2}), check::input(g, {2})});
}

TEST_CASE("solve: values by hand, gradients against finite differences, second derivatives") {
    // 2x + y = 3, x + 3y = 5.
    const Var x = xg::solve(Var(xt::xarray<double>{{2.0, 1.0}, {1.0, 3.0}}), Var(xt::xarray<double>{3.0, 5.0}));
    CHECK(x.value<double>()(0) == doctest::Approx(0.8).epsilon(1e-15));
    CHECK(x.value<double>()(1) == doctest::Approx(1.4).epsilon(1e-15));
    // A random matrix with 4 added to its diagonal is far from singular, so differences stay accurate.
    xg::Generator g(16);
    const Var shift(xt::xarray<double>(4.0 * xt::eye<double>(3)));
    const auto system = [&](const Inputs& v) { return v[0] + shift; };
    const std::vector<Var> vector_case = {check::input(g, {3, 3}), check::input(g, {3})};
    const std::vector<Var> matrix_case = {check::input(g, {3, 3}), check::input(g, {3, 2})};
    check::gradient([&](const Inputs& v) { return xg::solve(system(v), v[1]); }, vector_case);
    check::gradient([&](const Inputs& v) { return xg::solve(system(v), v[1]); }, matrix_case);
    check::second_gradient([&](const Inputs& v) { return xg::sum(xg::pow(xg::solve(system(v), v[1]), 2.0)); },
                           matrix_case);
}

TEST_CASE("softmax, log_softmax and the losses") {
    xg::Generator g(7);
    const Inputs logits = {check::input(g, {4, 3})};
    for (std::ptrdiff_t axis : {0, 1}) {
        check::gradient([=](const Inputs& x) { return xg::softmax(x[0], axis); }, logits);
        check::gradient([=](const Inputs& x) { return xg::log_softmax(x[0], axis); }, logits);
    }
    const std::vector<std::size_t> classes = {2, 0, 1, 2};
    check::gradient([&](const Inputs& x) { return xg::softmax_cross_entropy(x[0], classes); }, logits);
    Var one_hot = xg::zeros({4, 3}, xg::Dtype::float64);
    for (std::size_t i = 0; i < 4; ++i) one_hot.mutable_value<double>()(i, classes[i]) = 1;
    check::gradient([&](const Inputs& x) { return xg::softmax_cross_entropy(x[0], one_hot); }, logits);
    // Probability targets, and the gradient with respect to the targets too.
    const Var probabilities = xg::softmax(check::input(g, {4, 3})).detach().set_requires_grad();
    check::gradient([](const Inputs& x) { return xg::softmax_cross_entropy(x[0], x[1]); }, {logits[0], probabilities});
    const Var targets = xg::rand({5, 2}, g, xg::Dtype::float64).set_requires_grad();
    check::gradient([](const Inputs& x) { return xg::binary_cross_entropy_with_logits(x[0], x[1]); },
                    {check::input(g, {5, 2}, -4, 4), targets});
    check::gradient([](const Inputs& x) { return xg::mse(x[0], x[1]); }, {check::input(g, {3, 2}), check::input(g, {3, 2})});
}

TEST_CASE("dropout with a reseeded generator draws the same mask every call") {
    xg::Generator g(8);
    const Inputs in = {check::input(g, {6, 5})};
    check::gradient(
        [](const Inputs& x) {
            xg::Generator mask(99);
            return xg::dropout(x[0], 0.4, mask);
        },
        in);
}

TEST_CASE("float32 graphs are checked in float64") {
    xg::Generator g(9);
    const Var x = xg::randn({4, 3}, g).set_requires_grad();
    const Var w = xg::randn({3, 2}, g).set_requires_grad();
    check::gradient([](const Inputs& v) { return xg::tanh(xg::matmul(v[0], v[1])); }, {x, w});
}

TEST_CASE("NaN passes through relu, leaky_relu, maximum and minimum, as in PyTorch") {
    const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
    const auto values = [](const Var& v) { return std::vector<double>(v.value<double>().begin(), v.value<double>().end()); };
    const Var x(xt::xarray<double>{nan, -inf, -1.0, 0.0, 2.0, inf});
    const std::vector<double> relu = values(xg::relu(x)), leaky = values(xg::leaky_relu(x, 0.1));
    CHECK(std::isnan(relu[0]));
    CHECK(std::vector<double>(relu.begin() + 1, relu.end()) == std::vector<double>{0.0, 0.0, 0.0, 2.0, inf});
    CHECK(std::isnan(leaky[0]));
    CHECK(leaky[2] == doctest::Approx(-0.1));
    const Var zero(xt::xarray<double>{0.0}), not_a_number(xt::xarray<double>{nan});
    for (const Var& v : {xg::maximum(not_a_number, zero), xg::maximum(zero, not_a_number),
                         xg::minimum(not_a_number, zero), xg::minimum(zero, not_a_number)})
        CHECK(std::isnan(v.value<double>()(0)));
    // Broadcast against a column, with the ordinary cases beside the NaN.
    const Var column = xg::reshape(Var(xt::xarray<double>{1.0, nan}), {2, 1});
    const xt::xarray<double> largest = xg::maximum(column, Var(xt::xarray<double>{0.0, 3.0})).value<double>();
    CHECK(largest(0, 0) == 1.0);
    CHECK(largest(0, 1) == 3.0);
    CHECK(std::isnan(largest(1, 0)));
    CHECK(std::isnan(largest(1, 1)));
    CHECK(xg::minimum(column, Var(xt::xarray<double>{0.0, 3.0})).value<double>()(0, 0) == 0.0);
}

TEST_CASE("forward values by hand") {
    const Var x(xt::xarray<double>{1.0, 2.0, 3.0});
    const auto p = xg::softmax(x).value<double>();
    const double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    CHECK(p(0) == doctest::Approx(std::exp(1.0) / total).epsilon(1e-15));
    CHECK(p(2) == doctest::Approx(std::exp(3.0) / total).epsilon(1e-15));
    CHECK(xg::log_softmax(x).value<double>()(1) == doctest::Approx(2.0 - std::log(total)).epsilon(1e-15));

    // Loss = −log p[class], averaged: rows [1,2,3] (class 2) and [1000, 0, 0] (class 0, would overflow exp).
    const Var logits(xt::xarray<double>{{1.0, 2.0, 3.0}, {1000.0, 0.0, 0.0}});
    const double expected = (-(3.0 - std::log(total)) + 0.0) / 2.0;
    CHECK(xg::softmax_cross_entropy(logits, {2, 0}).item() == doctest::Approx(expected).epsilon(1e-14));

    // Large |z| stays finite: log(1 + e^1000) = 1000 for target 0; target 1 with z = 1000 costs nothing.
    const Var z(xt::xarray<double>{1000.0, -1000.0, 0.0});
    const Var t(xt::xarray<double>{0.0, 0.0, 1.0});
    CHECK(xg::binary_cross_entropy_with_logits(z, t).item() == doctest::Approx((1000.0 + 0.0 + std::log(2.0)) / 3));

    CHECK(xg::mse(Var(xt::xarray<double>{1.0, 2.0}), Var(xt::xarray<double>{0.0, 4.0})).item() == 2.5);
    CHECK(xg::max(Var(xt::xarray<double>{{1, 5, 2}, {7, 0, 3}}), 1).value<double>() == xt::xarray<double>{5, 7});
    CHECK(xg::sum(Var(xt::xarray<double>{{1, 2}, {3, 4}}), 0, true).value<double>() == xt::xarray<double>{{4, 6}});
    CHECK(xg::mean(Var(xt::xarray<double>{{1, 2}, {3, 4}}), -1).value<double>() == xt::xarray<double>{1.5, 3.5});
}

TEST_CASE("float32 with float64 promotes to float64") {
    const Var a(xt::xarray<float>{1.5f, 2.0f}, true);
    const Var b(xt::xarray<double>{2.0, 4.0}, true);
    const Var c = a * b;
    CHECK(c.dtype() == xg::Dtype::float64);
    xg::sum(c).backward();
    CHECK(a.grad().dtype() == xg::Dtype::float32);  // each gradient in its own input's dtype
    CHECK(a.grad().value<float>() == xt::xarray<float>{2.0f, 4.0f});
    CHECK(b.grad().value<double>() == xt::xarray<double>{1.5, 2.0});
}

TEST_CASE("dropout: inverted scaling, p = 0 and eval are the identity, same seed same mask") {
    const Var x = xg::ones({1000}, xg::Dtype::float64);
    xg::Generator g1(5), g2(5);
    const auto a = xg::dropout(x, 0.3, g1).value<double>();
    const auto b = xg::dropout(x, 0.3, g2).value<double>();
    CHECK(a == b);
    std::size_t kept = 0;
    for (double v : a) {
        CHECK((v == 0.0 || v == doctest::Approx(1.0 / 0.7)));
        kept += v != 0.0;
    }
    CHECK(kept > 600);  // 700 expected; binomial sd ≈ 14.5
    CHECK(kept < 800);
    xg::Generator g3(5);
    CHECK(xg::dropout(x, 0.3, g3, false).value<double>() == x.value<double>());
    CHECK(xg::dropout(x, 0.0, g3).value<double>() == x.value<double>());
}

namespace {

// Convolution and pooling configurations, and direct nested-loop references for them in float64.
struct ConvCase {
    xg::Shape input, weight;
    bool bias;
    xg::Conv2dOptions options;
};

const std::vector<ConvCase> conv_cases = {
    {{1, 1, 5, 5}, {1, 1, 3, 3}, false, {}},
    {{3, 2, 7, 5}, {4, 2, 3, 2}, true, {.stride = {2, 1}, .padding = {1, 0}}},
    {{2, 4, 7, 5}, {6, 2, 3, 3}, true, {.stride = {3, 2}, .padding = {2, 2}, .dilation = {2, 1}, .groups = 2}},
    {{1, 3, 6, 7}, {3, 1, 3, 3}, false, {.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .groups = 3}},
    {{3, 2, 5, 6}, {2, 2, 1, 1}, true, {.stride = {3, 3}}},
    {{1, 2, 7, 5}, {3, 2, 5, 2}, false, {.stride = {2, 3}, .padding = {2, 1}}},
    {{2, 2, 4, 4}, {2, 1, 2, 2}, false, {.padding = {1, 0}, .dilation = {2, 2}, .groups = 2}},
    {{3, 6, 5, 7}, {6, 1, 3, 2}, true, {.stride = {1, 2}, .padding = {0, 1}, .groups = 6}},
};

std::string describe(const ConvCase& c) {
    const auto& o = c.options;
    return fmt::format("input {} weight {} bias {} stride ({}, {}) padding ({}, {}) dilation ({}, {}) groups {}",
                       xg::to_string(c.input), xg::to_string(c.weight), c.bias, o.stride[0], o.stride[1],
                       o.padding[0], o.padding[1], o.dilation[0], o.dilation[1], o.groups);
}

// The input element that padded coordinate (p, q) of plane (n, c) holds, or nothing in the padding.
std::optional<double> at(const xt::xarray<double>& x, std::size_t n, std::size_t c, std::ptrdiff_t p,
                         std::ptrdiff_t q) {
    const auto h = static_cast<std::ptrdiff_t>(x.shape()[2]), w = static_cast<std::ptrdiff_t>(x.shape()[3]);
    if (p < 0 || q < 0 || p >= h || q >= w) return std::nullopt;
    return x(n, c, static_cast<std::size_t>(p), static_cast<std::size_t>(q));
}

xt::xarray<double> reference_conv(const xt::xarray<double>& x, const xt::xarray<double>& w, const xt::xarray<double>* b,
                                  const xg::Conv2dOptions& o) {
    const std::size_t n = x.shape()[0], c_out = w.shape()[0], group_in = w.shape()[1], kh = w.shape()[2],
                      kw = w.shape()[3], group_out = c_out / o.groups;
    const std::size_t out_h = (x.shape()[2] + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0] + 1;
    const std::size_t out_w = (x.shape()[3] + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1] + 1;
    xt::xarray<double> y = xt::zeros<double>({n, c_out, out_h, out_w});
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t co = 0; co < c_out; ++co)
            for (std::size_t i = 0; i < out_h; ++i)
                for (std::size_t j = 0; j < out_w; ++j) {
                    double total = b ? (*b)(co) : 0.0;
                    for (std::size_t ci = 0; ci < group_in; ++ci)
                        for (std::size_t u = 0; u < kh; ++u)
                            for (std::size_t v = 0; v < kw; ++v) {
                                const auto p = static_cast<std::ptrdiff_t>(i * o.stride[0] + u * o.dilation[0]) -
                                               static_cast<std::ptrdiff_t>(o.padding[0]);
                                const auto q = static_cast<std::ptrdiff_t>(j * o.stride[1] + v * o.dilation[1]) -
                                               static_cast<std::ptrdiff_t>(o.padding[1]);
                                if (auto value = at(x, s, co / group_out * group_in + ci, p, q))
                                    total += *value * w(co, ci, u, v);
                            }
                    y(s, co, i, j) = total;
                }
    return y;
}

enum class Pool { max, average };

// Windows of `kernel` every `stride` over the input padded by `padding`: the max over the real elements (the
// padding is −∞), or the sum over them divided by the whole kernel (count_include_pad).
xt::xarray<double> reference_pool(Pool pool, const xt::xarray<double>& x, xg::Size2 kernel, xg::Size2 stride,
                                  xg::Size2 padding) {
    const std::size_t out_h = (x.shape()[2] + 2 * padding[0] - kernel[0]) / stride[0] + 1;
    const std::size_t out_w = (x.shape()[3] + 2 * padding[1] - kernel[1]) / stride[1] + 1;
    xt::xarray<double> y = xt::zeros<double>({x.shape()[0], x.shape()[1], out_h, out_w});
    for (std::size_t s = 0; s < x.shape()[0]; ++s)
        for (std::size_t c = 0; c < x.shape()[1]; ++c)
            for (std::size_t i = 0; i < out_h; ++i)
                for (std::size_t j = 0; j < out_w; ++j) {
                    double result = pool == Pool::max ? -std::numeric_limits<double>::infinity() : 0.0;
                    for (std::size_t u = 0; u < kernel[0]; ++u)
                        for (std::size_t v = 0; v < kernel[1]; ++v) {
                            const auto p = static_cast<std::ptrdiff_t>(i * stride[0] + u - padding[0]);
                            const auto q = static_cast<std::ptrdiff_t>(j * stride[1] + v - padding[1]);
                            if (auto value = at(x, s, c, p, q))
                                result = pool == Pool::max ? std::max(result, *value) : result + *value;
                        }
                    y(s, c, i, j) = pool == Pool::max ? result : result / static_cast<double>(kernel[0] * kernel[1]);
                }
    return y;
}

xt::xarray<double> reference_adaptive(const xt::xarray<double>& x, xg::Size2 size) {
    const std::size_t h = x.shape()[2], w = x.shape()[3];
    xt::xarray<double> y = xt::zeros<double>({x.shape()[0], x.shape()[1], size[0], size[1]});
    for (std::size_t s = 0; s < x.shape()[0]; ++s)
        for (std::size_t c = 0; c < x.shape()[1]; ++c)
            for (std::size_t i = 0; i < size[0]; ++i)
                for (std::size_t j = 0; j < size[1]; ++j) {
                    const auto rows_begin = static_cast<std::size_t>(std::floor(double(i * h) / double(size[0])));
                    const auto rows_end = static_cast<std::size_t>(std::ceil(double((i + 1) * h) / double(size[0])));
                    const auto cols_begin = static_cast<std::size_t>(std::floor(double(j * w) / double(size[1])));
                    const auto cols_end = static_cast<std::size_t>(std::ceil(double((j + 1) * w) / double(size[1])));
                    double total = 0.0;
                    for (std::size_t p = rows_begin; p < rows_end; ++p)
                        for (std::size_t q = cols_begin; q < cols_end; ++q) total += x(s, c, p, q);
                    y(s, c, i, j) = total / static_cast<double>((rows_end - rows_begin) * (cols_end - cols_begin));
                }
    return y;
}

// The largest |actual − expected| / (1 + |expected|), after checking the shapes agree; actual in either dtype.
double deviation(const Var& actual, const xt::xarray<double>& expected) {
    const xt::xarray<double> values = actual.to(xg::Dtype::float64).value<double>();
    REQUIRE(xg::to_string(values.shape()) == xg::to_string(expected.shape()));
    double worst = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i)
        worst = std::max(worst, std::abs(values.data()[i] - expected.data()[i]) / (1.0 + std::abs(expected.data()[i])));
    return worst;
}

struct PoolCase {
    xg::Shape input;
    xg::Size2 kernel, stride, padding;
};

const std::vector<PoolCase> pool_cases = {
    {{3, 2, 7, 5}, {2, 2}, {2, 2}, {0, 0}}, {{1, 1, 5, 6}, {3, 3}, {2, 2}, {1, 1}},
    {{3, 2, 7, 5}, {3, 2}, {1, 2}, {1, 0}}, {{1, 3, 7, 5}, {2, 3}, {3, 1}, {1, 1}},
    {{2, 1, 4, 4}, {4, 4}, {1, 1}, {2, 2}},
    // One input row inside a 3-high window padded by 1: the window's bottom row lies in the padding for every output.
    {{1, 2, 1, 3}, {3, 3}, {1, 1}, {1, 1}},
};

}  // namespace

TEST_CASE("conv2d: values by hand are a cross-correlation, not a flipped convolution") {
    const Var x(xt::xarray<double>{{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}});
    const Var w(xt::xarray<double>{{{{1, 2}, {3, 4}}}});
    CHECK(xg::conv2d(x, w).value<double>() == xt::xarray<double>{{{{37, 47}, {67, 77}}}});
    CHECK(xg::conv2d(x, w, Var(xt::xarray<double>{0.5}), {.stride = {2, 2}, .padding = {1, 1}}).value<double>() ==
          xt::xarray<double>{{{{4.5, 18.5}, {36.5, 77.5}}}});
}

TEST_CASE("conv2d: values against a nested-loop reference, float64 and float32") {
    xg::Generator g(40);
    for (const ConvCase& c : conv_cases) {
        CAPTURE(describe(c));
        const Var x = check::input(g, c.input), w = check::input(g, c.weight), b = check::input(g, {c.weight[0]});
        const xt::xarray<double> bias = b.value<double>();
        const xt::xarray<double> expected =
            reference_conv(x.value<double>(), w.value<double>(), c.bias ? &bias : nullptr, c.options);
        CHECK(deviation(xg::conv2d(x, w, c.bias ? b : Var(), c.options), expected) <= 1e-14);
        const Var y32 = xg::conv2d(x.to(xg::Dtype::float32), w.to(xg::Dtype::float32),
                                   c.bias ? b.to(xg::Dtype::float32) : Var(), c.options);
        CHECK(y32.dtype() == xg::Dtype::float32);
        CHECK(deviation(y32, expected) <= 1e-5);
    }
}

TEST_CASE("conv2d: gradients of input, weight and bias against central differences") {
    xg::Generator g(41);
    for (const ConvCase& c : conv_cases) {
        CAPTURE(describe(c));
        const xg::Conv2dOptions options = c.options;
        Inputs in = {check::input(g, c.input), check::input(g, c.weight)};
        if (c.bias) in.push_back(check::input(g, {c.weight[0]}));
        check::gradient([&](const Inputs& v) { return xg::conv2d(v[0], v[1], v.size() > 2 ? v[2] : Var(), options); },
                        in);
    }
}

TEST_CASE("conv2d: float32 with float64 computes in float64, each gradient in its input's dtype") {
    xg::Generator g(42);
    const Var x = xg::randn({2, 2, 4, 4}, g).set_requires_grad();
    const Var w = check::input(g, {3, 2, 3, 3});
    const Var y = xg::conv2d(x, w, Var(), {.padding = {1, 1}});
    CHECK(y.dtype() == xg::Dtype::float64);
    xg::sum(y).backward();
    CHECK(x.grad().dtype() == xg::Dtype::float32);
    CHECK(w.grad().dtype() == xg::Dtype::float64);
}

TEST_CASE("max_pool2d and avg_pool2d: values against a nested-loop reference, float64 and float32") {
    xg::Generator g(43);
    for (const PoolCase& c : pool_cases) {
        CAPTURE(xg::to_string(c.input));
        CAPTURE(c.kernel[0]);
        CAPTURE(c.kernel[1]);
        const Var x = check::input(g, c.input);
        const xt::xarray<double> largest = reference_pool(Pool::max, x.value<double>(), c.kernel, c.stride, c.padding);
        const xt::xarray<double> mean = reference_pool(Pool::average, x.value<double>(), c.kernel, c.stride, c.padding);
        CHECK(deviation(xg::max_pool2d(x, c.kernel, c.stride, c.padding), largest) == 0.0);
        CHECK(deviation(xg::avg_pool2d(x, c.kernel, c.stride, c.padding), mean) <= 1e-15);
        const Var x32 = x.to(xg::Dtype::float32);
        CHECK(xg::max_pool2d(x32, c.kernel, c.stride, c.padding).dtype() == xg::Dtype::float32);
        CHECK(deviation(xg::max_pool2d(x32, c.kernel, c.stride, c.padding), largest) <= 1e-7);
        CHECK(deviation(xg::avg_pool2d(x32, c.kernel, c.stride, c.padding), mean) <= 1e-6);
    }
    // The stride defaults to the kernel.
    const Var x = check::input(g, {2, 3, 7, 5});
    CHECK(xg::max_pool2d(x, {2, 3}).value<double>() == xg::max_pool2d(x, {2, 3}, {2, 3}).value<double>());
    CHECK(xg::avg_pool2d(x, {2, 3}).value<double>() == xg::avg_pool2d(x, {2, 3}, {2, 3}).value<double>());
}

TEST_CASE("adaptive_avg_pool2d: values against a nested-loop reference and by hand") {
    xg::Generator g(44);
    const std::vector<std::pair<xg::Shape, xg::Size2>> cases = {
        {{2, 3, 7, 5}, {3, 2}}, {{1, 2, 4, 4}, {4, 4}}, {{1, 1, 5, 7}, {3, 4}},
        {{2, 1, 2, 3}, {4, 5}}, {{1, 2, 6, 6}, {1, 1}}};
    for (const auto& [shape, size] : cases) {
        CAPTURE(xg::to_string(shape));
        const Var x = check::input(g, shape);
        const xt::xarray<double> expected = reference_adaptive(x.value<double>(), size);
        CHECK(deviation(xg::adaptive_avg_pool2d(x, size), expected) <= 1e-15);
        CHECK(deviation(xg::adaptive_avg_pool2d(x.to(xg::Dtype::float32), size), expected) <= 1e-6);
    }
    // Five columns into three bins: [0, 2), [1, 4), [3, 5).
    const Var row(xt::xarray<double>{{{{0, 1, 2, 3, 4}}}});
    CHECK(xg::adaptive_avg_pool2d(row, {1, 3}).value<double>() == xt::xarray<double>{{{{0.5, 2.0, 3.5}}}});
}

TEST_CASE("avg_pool2d counts the padding in the divisor (count_include_pad)") {
    const Var ones = xg::ones({1, 1, 2, 2}, xg::Dtype::float64);
    CHECK(xg::avg_pool2d(ones, {3, 3}, {1, 1}, {1, 1}).value<double>() ==
          xt::xarray<double>{{{{4.0 / 9.0, 4.0 / 9.0}, {4.0 / 9.0, 4.0 / 9.0}}}});
}

TEST_CASE("max_pool2d: a tie's gradient goes to the first maximum in row-major order; NaN passes through") {
    const Var x(xt::xarray<double>{{{{1, 3}, {3, 2}}}}, true);
    xg::sum(xg::max_pool2d(x, {2, 2})).backward();
    CHECK(x.grad().value<double>() == xt::xarray<double>{{{{0, 1}, {0, 0}}}});
    // Overlapping windows [1, 2] and [2, 2] both pick the first 2: its gradient adds up.
    const Var row(xt::xarray<double>{{{{1, 2, 2}}}}, true);
    xg::sum(xg::max_pool2d(row, {1, 2}, {1, 1})).backward();
    CHECK(row.grad().value<double>() == xt::xarray<double>{{{{0, 2, 0}}}});
    const Var with_nan(xt::xarray<double>{{{{1, std::nan(""), 3, 2}}}});
    const xt::xarray<double> pooled = xg::max_pool2d(with_nan, {1, 2}, {1, 2}).value<double>();
    CHECK(std::isnan(pooled(0, 0, 0, 0)));
    CHECK(pooled(0, 0, 0, 1) == 3.0);
    // A NaN stays against a larger number after it; a window of −∞ sends its gradient to its first element.
    const double inf = std::numeric_limits<double>::infinity();
    const Var first_nan(xt::xarray<double>{{{{std::nan(""), 5, -inf, -inf}}}}, true);
    const Var pooled_nan = xg::max_pool2d(first_nan, {1, 2}, {1, 2});
    CHECK(std::isnan(pooled_nan.value<double>()(0, 0, 0, 0)));
    CHECK(pooled_nan.value<double>()(0, 0, 0, 1) == -inf);
    xg::sum(pooled_nan * xg::Var(xt::xarray<double>{{{{1, 1}}}})).backward();
    CHECK(first_nan.grad().value<double>() == xt::xarray<double>{{{{1, 0, 1, 0}}}});
    // float32 compares through its own 32-bit keys: negative numbers, a tie, and a NaN after a number.
    const Var small(xt::xarray<float>{{{{-3.0f, -2.5f, 7.0f, 7.0f, 1.0f, std::nanf("")}}}}, true);
    const Var pooled_small = xg::max_pool2d(small, {1, 2}, {1, 2});
    CHECK(pooled_small.value<float>()(0, 0, 0, 0) == -2.5f);
    CHECK(std::isnan(pooled_small.value<float>()(0, 0, 0, 2)));
    xg::sum(pooled_small * xg::Var(xt::xarray<float>{{{{1, 1, 1}}}})).backward();
    CHECK(small.grad().value<float>() == xt::xarray<float>{{{{0, 1, 1, 0, 0, 1}}}});
}

TEST_CASE("pools: gradients against central differences") {
    xg::Generator g(45);
    for (const PoolCase& c : pool_cases) {
        CAPTURE(xg::to_string(c.input));
        CAPTURE(c.kernel[0]);
        CAPTURE(c.kernel[1]);
        // Distinct values, so no window's maximum is within a difference step of a tie.
        check::gradient([&](const Inputs& v) { return xg::max_pool2d(v[0], c.kernel, c.stride, c.padding); },
                        {spread(g, c.input)});
        check::gradient([&](const Inputs& v) { return xg::avg_pool2d(v[0], c.kernel, c.stride, c.padding); },
                        {check::input(g, c.input)});
    }
    for (const auto& [shape, size] : std::vector<std::pair<xg::Shape, xg::Size2>>{
             {{2, 3, 7, 5}, {3, 2}}, {{1, 1, 5, 7}, {3, 4}}, {{2, 1, 2, 3}, {4, 5}}}) {
        CAPTURE(xg::to_string(shape));
        check::gradient([&](const Inputs& v) { return xg::adaptive_avg_pool2d(v[0], size); }, {check::input(g, shape)});
    }
}
