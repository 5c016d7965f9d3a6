// Every primitive's vector-Jacobian product against central differences, in float64 on random inputs,
// including broadcasting and keepdims; plus forward values checked by hand.
#include "check.hpp"

#include <cmath>
#include <limits>

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
