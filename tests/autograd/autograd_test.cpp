// The tape's behaviour: the seed's apple graph, accumulation, guards, detach, xg::grad, gradcheck itself,
// numerical_gradient, printing.
#include "check.hpp"

#include <cmath>
#include <sstream>
#include <string>

using xg::Var;

TEST_CASE("the seed's apple graph gives its exact numbers") {
    Var apple(100.0, true), apple_num(2.0, true), orange(150.0, true), orange_num(3.0, true), tax(1.1, true);
    const Var price = (apple * apple_num + orange * orange_num) * tax;
    price.backward();
    // Double arithmetic rounds 650 · 1.1 to 715.0000000000001, as the seed's Python does.
    CHECK(price.item() == doctest::Approx(715.0).epsilon(1e-15));
    CHECK(apple.grad().item() == doctest::Approx(2.2).epsilon(1e-15));
    CHECK(apple_num.grad().item() == doctest::Approx(110.0).epsilon(1e-15));
    CHECK(orange.grad().item() == doctest::Approx(3.3).epsilon(1e-15));
    CHECK(orange_num.grad().item() == doctest::Approx(165.0).epsilon(1e-15));
    CHECK(tax.grad().item() == 650.0);
}

TEST_CASE("gradients accumulate with += across backwards; zero_grad and clear_grad reset") {
    Var x(3.0, true);
    (x * x).backward();
    CHECK(x.grad().item() == 6.0);
    (x * x).backward();
    CHECK(x.grad().item() == 12.0);
    x.zero_grad();
    CHECK(x.grad().item() == 0.0);
    (x * 5.0).backward();
    CHECK(x.grad().item() == 5.0);
    x.clear_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a variable used twice receives both gradients") {
    Var x(xt::xarray<double>{1.0, -2.0}, true);
    xg::sum(x * x + x).backward();  // d/dx = 2x + 1
    CHECK(x.grad().value<double>() == xt::xarray<double>{3.0, -3.0});
}

TEST_CASE("matmul accumulates into an existing leaf gradient without a temporary") {
    xg::Generator g(1);
    Var x = xg::randn({3, 4}, g, xg::Dtype::float64).set_requires_grad();
    Var w = xg::randn({4, 2}, g, xg::Dtype::float64).set_requires_grad();
    const Var seed = xg::randn({3, 2}, g, xg::Dtype::float64);
    xg::matmul(x, w).backward(seed);
    const xt::xarray<double> first = w.grad().value<double>();
    xg::matmul(x, w).backward(seed);  // now adds into w.grad() with beta = 1
    CHECK(xt::allclose(w.grad().value<double>(), 2.0 * first));
    // The product xᵀ·seed by hand.
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 2; ++j) {
            double expected = 0;
            for (std::size_t k = 0; k < 3; ++k) expected += x.value<double>()(k, i) * seed.value<double>()(k, j);
            CHECK(first(i, j) == doctest::Approx(expected));
        }
}

TEST_CASE("NoGradGuard records nothing; detach cuts the graph") {
    Var x(2.0, true);
    const std::size_t before = xg::tape_size();
    {
        xg::NoGradGuard no_grad;
        CHECK_FALSE(xg::is_grad_enabled());
        const Var y = x * x;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
        CHECK(xg::tape_size() == before);
    }
    CHECK(xg::is_grad_enabled());
    const Var d = (x * 3.0).detach();
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(d.item() == 6.0);
    (x * d).backward();  // d is a constant: the gradient is d, not 2·3x
    CHECK(x.grad().item() == 6.0);
}

TEST_CASE("xg::grad of intermediate variables, unused inputs get zeros, .grad untouched") {
    Var x(xt::xarray<double>{1.0, 2.0}, true);
    Var unused(xt::xarray<double>{5.0}, true);
    const Var h = x * 3.0;
    const Var y = xg::sum(h * h);
    const auto gs = xg::grad(y, {h, x, unused});
    CHECK(gs[0].value<double>() == xt::xarray<double>{6.0, 12.0});  // 2h
    CHECK(gs[1].value<double>() == xt::xarray<double>{18.0, 36.0});  // 18x
    CHECK(gs[2].value<double>() == xt::xarray<double>{0.0});
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("retain_graph allows a second backward") {
    Var x(2.0, true);
    const Var y = x * x * x;
    y.backward(Var(), true);
    y.backward();
    CHECK(x.grad().item() == 24.0);  // 2 · 3x²
}

TEST_CASE("a non-scalar output with an explicit seed") {
    Var x(xt::xarray<double>{1.0, 2.0, 3.0}, true);
    (x * x).backward(Var(xt::xarray<double>{1.0, 0.0, -1.0}));
    CHECK(x.grad().value<double>() == xt::xarray<double>{2.0, 0.0, -6.0});
}

TEST_CASE("numerical_gradient is the seeds' central difference") {
    // f(x0, x1) = x0² + x1² (the seeds' function_2) at (3, 4): gradient (6, 8).
    const Var x(xt::xarray<double>{3.0, 4.0});
    const Var n = xg::numerical_gradient([](const Var& v) { return xg::sum(v * v); }, x);
    CHECK(n.value<double>()(0) == doctest::Approx(6.0).epsilon(1e-9));
    CHECK(n.value<double>()(1) == doctest::Approx(8.0).epsilon(1e-9));
    CHECK(x.value<double>() == xt::xarray<double>{3.0, 4.0});  // x itself is left as it was
}

TEST_CASE("gradcheck reports a wrong gradient") {
    xg::Generator g(2);
    const Var x = check::input(g, {3, 2}, 0.5, 2.0).set_name("x");
    // x · detach(x): the tape sees x times a constant, so its gradient is x where the truth is 2x.
    const xg::GradcheckReport wrong =
        xg::gradcheck([](const std::vector<Var>& v) { return xg::sum(v[0] * v[0].detach()); }, {x});
    CHECK_FALSE(wrong.passed);
    REQUIRE(wrong.inputs.size() == 1);
    CHECK(wrong.inputs[0].max_relative_error == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(wrong.inputs[0].numeric == doctest::Approx(2 * wrong.inputs[0].analytic).epsilon(1e-6));
    CHECK(wrong.to_string().find("x (3, 2): max relative error 5.000e-01") == 0);
    CHECK(wrong.to_string().find("FAILED") != std::string::npos);
    CHECK(fmt::format("{}", wrong) == wrong.to_string());
    std::ostringstream stream;
    stream << wrong;
    CHECK(stream.str() == wrong.to_string());

    const xg::GradcheckReport right =
        xg::gradcheck([](const std::vector<Var>& v) { return xg::sum(v[0] * v[0]); }, {x});
    CHECK(right.passed);
    CHECK(right.inputs[0].max_relative_error < 1e-8);
}

TEST_CASE("to_dot shows op names, leaves and shapes") {
    Var w(xt::xarray<double>{{1.0, 2.0}}, true);
    w.set_name("weight");
    const Var y = xg::sigmoid(xg::matmul(w, xg::transpose(w)));
    const std::string dot = xg::to_dot(y);
    CHECK(dot.find("digraph xgrad {") == 0);
    CHECK(dot.find("label=\"sigmoid\\n(1, 1)\"") != std::string::npos);
    CHECK(dot.find("label=\"matmul\\n(1, 1)\"") != std::string::npos);
    CHECK(dot.find("label=\"transpose\\n(2, 1)\"") != std::string::npos);
    CHECK(dot.find("label=\"weight\\n(1, 2)\"") != std::string::npos);
}

TEST_CASE("fmt and ostream print shape, dtype and values") {
    const Var x(xt::xarray<float>{{1.5f, -2.0f}}, true);
    const std::string s = fmt::format("{}", x);
    CHECK(s.find("Var(shape=(1, 2), float32, requires_grad)") == 0);
    CHECK(s.find("1.5") != std::string::npos);
    CHECK(s.find("-2.") != std::string::npos);
    CHECK(fmt::format("{}", x * 2.0).find("op=mul") != std::string::npos);
    CHECK(xg::to_string(xg::Shape{3}) == "(3,)");
    CHECK(xg::to_string(xg::Shape{}) == "()");
    // A scalar is one line, its value first; float32 prints its shortest form, not the double's digits.
    CHECK(fmt::format("{}", Var(1.1, true, xg::Dtype::float32)) == "Var(1.1, float32, requires_grad)");
    const Var product = Var(3.5, true) * Var(2.0);
    CHECK(fmt::format("{}", product) == "Var(7, float64, op=mul, requires_grad)");
    std::ostringstream stream;
    stream << Var(-0.25);
    CHECK(stream.str() == "Var(-0.25, float64)");
    CHECK(fmt::format("{}", Var()) == "Var(undefined)");
    CHECK_THROWS_WITH_AS(fmt::format(fmt::runtime("{:>30}"), x), "xgrad's types take no format spec: use \"{}\"",
                         fmt::format_error);
}

TEST_CASE("visit_value and to_vector read either dtype; visit_mutable_value writes in place") {
    const Var f(xt::xarray<float>{1.5f, -2.0f});
    const Var d(xt::xarray<double>{{0.25, 4.0}, {-1.0, 8.0}});
    const auto total = [](const auto& a) { return static_cast<double>(xt::sum(a)()); };
    CHECK(f.visit_value(total) == -0.5);
    CHECK(d.visit_value(total) == 11.25);
    CHECK(f.visit_value([](const auto& a) { return std::is_same_v<typename std::decay_t<decltype(a)>::value_type, float>; }));
    CHECK(d.to_vector<double>() == std::vector<double>{0.25, 4.0, -1.0, 8.0});
    CHECK(d.to_vector<int>() == std::vector<int>{0, 4, -1, 8});

    Var w(xt::xarray<double>{1.0, 2.0}, true);
    const Var alias = w;
    w.visit_mutable_value([](auto& a) { a *= 3; });
    CHECK(alias.value<double>() == xt::xarray<double>{3.0, 6.0});
    CHECK_THROWS_WITH_AS(Var().to_vector<double>(), "value: undefined variable (a default-constructed Var)", xg::Error);
}

TEST_CASE("is_same and use_count tell handles of one node from copies") {
    const Var w(xt::xarray<double>{1.0, 2.0}, true);
    CHECK(w.use_count() == 1);
    const Var alias = w;
    CHECK(w.is_same(alias));
    CHECK(w.use_count() == 2);
    CHECK_FALSE(w.is_same(w.detach()));
    CHECK_FALSE(w.is_same(Var()));
    CHECK(Var().use_count() == 0);
}

TEST_CASE("copy_from overwrites a leaf in place, converting the dtype, and refuses what it cannot do") {
    Var w(xt::xarray<float>{1.0f, 2.0f, 3.0f}, true);
    const std::size_t recorded = xg::tape_size();
    const float* memory = w.value<float>().data();
    w.copy_from(Var(xt::xarray<double>{0.5, -1.25, 4.0}));
    CHECK(w.value<float>() == xt::xarray<float>{0.5f, -1.25f, 4.0f});
    CHECK(w.value<float>().data() == memory);  // the same array, as optimizers and graphs hold it
    CHECK(w.requires_grad());
    CHECK(xg::tape_size() == recorded);

    CHECK_THROWS_WITH_AS(w.copy_from(xg::zeros({2})), "copy_from: cannot copy (2,) into (3,)", xg::ShapeError);
    Var product = w * 2.0;
    CHECK_THROWS_WITH_AS(product.copy_from(w),
                         "copy_from: the output of 'mul_scalar' cannot be overwritten, only a leaf", xg::GraphError);
}

TEST_CASE("set_data replaces a leaf's value, shape and dtype through every handle, and refuses op outputs") {
    Var w(xt::xarray<float>{1.0f, 2.0f}, true);
    const Var same = w;
    w.set_data(Var(xt::xarray<double>{{0.5, 1.5, 2.5}}));
    CHECK(same.dtype() == xg::Dtype::float64);
    CHECK(same.shape() == xg::Shape{1, 3});
    CHECK(same.to_vector<double>() == std::vector<double>{0.5, 1.5, 2.5});
    CHECK(same.requires_grad());
    Var product = w * 2.0;
    CHECK_THROWS_WITH_AS(product.set_data(w), "set_data: the output of 'mul_scalar' cannot be replaced, only a leaf",
                         xg::GraphError);
}

TEST_CASE("x[i] selects along the first axis, differentiably, negative from the end, as PyTorch's indexing") {
    Var x(xt::xarray<double>{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, true);
    CHECK(x[1].shape() == xg::Shape{3});
    CHECK(x[1].to_vector<double>() == std::vector<double>{4.0, 5.0, 6.0});
    CHECK(x[-1][0].item() == 4.0);
    CHECK(x[0][2].shape().empty());
    xg::Var loss = x[1][2] * 3.0 + x[0][0];
    loss.backward();
    CHECK(x.grad().value<double>() == xt::xarray<double>{{1.0, 0.0, 0.0}, {0.0, 0.0, 3.0}});
    CHECK(xg::select(x, 1, -1).to_vector<double>() == std::vector<double>{3.0, 6.0});

    CHECK_THROWS_WITH_AS(x[2], "select: index 2 is out of range for axis 0 of size 2 (shape (2, 3))", xg::ShapeError);
    CHECK_THROWS_WITH_AS(x[-3], "select: index -3 is out of range for axis 0 of size 2 (shape (2, 3))",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(x[0][0][0], "select: a 0-d variable has no axis to index (use item() for its value)",
                         xg::ShapeError);
}

TEST_CASE("a 0-d operand does not promote one with dimensions (PyTorch's rule); gradients keep each input's dtype") {
    Var x32(xt::xarray<float>{1.0f, 2.0f}, true);
    Var two(2.0, true), one(1.0);
    const Var y = x32 * two + one;
    CHECK(y.dtype() == xg::Dtype::float32);
    CHECK(y.to_vector<double>() == std::vector<double>{3.0, 5.0});
    xg::sum(y).backward();
    CHECK(x32.grad().dtype() == xg::Dtype::float32);
    CHECK(two.grad().dtype() == xg::Dtype::float64);
    CHECK(two.grad().item() == 3.0);

    CHECK((Var(2.0f, false, xg::Dtype::float32) * Var(3.0)).dtype() == xg::Dtype::float64);  // both 0-d
    CHECK((x32 * Var(xt::xarray<double>{2.0})).dtype() == xg::Dtype::float64);               // both dimensioned
    CHECK(xg::concat({x32, Var(xt::xarray<double>{3.0})}).dtype() == xg::Dtype::float64);
}
