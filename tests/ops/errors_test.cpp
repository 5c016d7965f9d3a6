// Bad input is an exception whose message names the op and the shapes; shape errors have their own type.
#include "check.hpp"

#include <limits>

using xg::Var;

namespace {
Var filled(const xg::Shape& shape) { return xg::ones(shape, xg::Dtype::float64); }
}  // namespace

TEST_CASE("shape errors name the op and the shapes") {
    CHECK_THROWS_WITH_AS(xg::solve(filled({2, 3}), filled({2})), "solve: the matrix must be square (n, n), got (2, 3)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::solve(filled({3, 3}), filled({2, 4})),
                         "solve: the right-hand side must be (3,) or (3, k) for a (3, 3) matrix, got (2, 4)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::solve(Var(xt::xarray<double>{{1.0, 2.0}, {2.0, 4.0}}), filled({2})),
                         "solve: the (2, 2) matrix is singular (U(1, 1) of its LU factors is zero)", xg::Error);
    CHECK_THROWS_WITH_AS(xg::matmul(filled({100, 784}), filled({100, 50})),
                         "matmul: cannot multiply (100, 784) by (100, 50)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::matmul(filled({3}), filled({3, 2})), "matmul: expects 2-D operands, got (3,) and (3, 2)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(filled({2, 3}) + filled({4}), "add: cannot broadcast (2, 3) with (4,)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::maximum(filled({2}), filled({3})), "maximum: cannot broadcast (2,) with (3,)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::affine(filled({4, 3}), filled({2, 5}), filled({5})),
                         "affine: cannot multiply (4, 3) by (2, 5)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::affine(filled({4, 3}), filled({3, 5}), filled({4})),
                         "affine: bias of shape (4,) does not fit (4, 3)·(3, 5); it must be (5,)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::reshape(filled({2, 3}), {4, 2}), "reshape: cannot reshape (2, 3) (6 elements) to (4, 2)",
                         xg::ShapeError);
    CHECK_THROWS_AS(xg::reshape(filled({2, 3}), {-1, -1}), xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::concat({filled({2, 3}), filled({3, 3})}, 1),
                         "concat: cannot join (2, 3) and (3, 3) along axis 1", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::slice(filled({2, 3}), 1, 2, 5),
                         "slice: range [2, 5) is out of bounds for axis 1 of shape (2, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::select_rows(filled({4, 2}), {1, 4}),
                         "select_rows: row 4 (at position 1) is out of range for shape (4, 2)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::sum(filled({2, 3}), 2), "sum: axis 2 is out of range for shape (2, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::broadcast_to(filled({2, 3}), {3, 3}), "broadcast_to: cannot broadcast (2, 3) to (3, 3)",
                         xg::ShapeError);
    CHECK_THROWS_AS(xg::transpose(filled({2, 3}), {0, 0}), xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::mse(filled({2, 3}), filled({3, 2})),
                         "mse: prediction (2, 3) and target (3, 2) must have the same shape", xg::ShapeError);
}

TEST_CASE("convolution and pooling errors name the op, the shapes and the options") {
    const auto conv = [](const xg::Shape& x, const xg::Shape& w, const xg::Conv2dOptions& options = {}) {
        return check::error_message<xg::ShapeError>([&] { xg::conv2d(filled(x), filled(w), Var(), options); });
    };
    CHECK(conv({2, 3, 8, 8}, {4, 2, 3, 3}) ==
          "conv2d: input (2, 3, 8, 8) has 3 channels but weight (4, 2, 3, 3) expects 2 × groups 1");
    CHECK(conv({1, 3, 5, 5}, {2, 1, 3, 3}, {.groups = 2}) ==
          "conv2d: input (1, 3, 5, 5) has 3 channels but weight (2, 1, 3, 3) expects 1 × groups 2");
    CHECK(conv({1, 4, 5, 5}, {3, 2, 3, 3}, {.groups = 2}) ==
          "conv2d: weight (3, 2, 3, 3) has 3 output channels, not divisible by groups 2");
    CHECK(conv({3, 8, 8}, {4, 3, 3, 3}) == "conv2d: input must be 4-D (N, C, H, W), got (3, 8, 8)");
    CHECK(conv({1, 3, 8, 8}, {4, 3, 3}) == "conv2d: weight must be 4-D (C_out, C_in / groups, kH, kW), got (4, 3, 3)");
    CHECK(conv({1, 1, 4, 4}, {1, 1, 3, 3}, {.dilation = {2, 2}}) ==
          "conv2d: kernel (3, 3) with dilation (2, 2) spans (5, 5), more than the padded input (4, 4) of (1, 1, 4, 4)");
    CHECK(conv({1, 1, 4, 4}, {1, 1, 3, 3}, {.stride = {0, 1}}) == "conv2d: stride (0, 1) must be positive");
    CHECK(conv({1, 1, 4, 4}, {1, 1, 3, 3}, {.dilation = {1, 0}}) == "conv2d: dilation (1, 0) must be positive");
    CHECK(conv({1, 1, 4, 4}, {1, 1, 3, 3}, {.groups = 0}) == "conv2d: groups must be at least 1");
    CHECK(conv({1, 1, 4, 4}, {1, 1, 0, 3}) == "conv2d: weight (1, 1, 0, 3) has an empty kernel");
    CHECK_THROWS_WITH_AS(xg::conv2d(filled({1, 3, 5, 5}), filled({4, 3, 3, 3}), filled({3})),
                         "conv2d: bias of shape (3,) does not fit weight (4, 3, 3, 3); it must be (4,)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::conv2d(Var(), filled({4, 3, 3, 3})),
                         "conv2d: undefined variable (a default-constructed Var)", xg::Error);

    CHECK_THROWS_WITH_AS(xg::max_pool2d(filled({4, 4}), {2, 2}),
                         "max_pool2d: input must be 4-D (N, C, H, W), got (4, 4)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::max_pool2d(filled({1, 1, 4, 4}), {3, 3}, {1, 1}, {2, 0}),
                         "max_pool2d: padding (2, 0) must be at most half the kernel (3, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::max_pool2d(filled({1, 1, 4, 4}), {0, 2}), "max_pool2d: kernel (0, 2) must be positive",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::avg_pool2d(filled({1, 1, 4, 4}), {2, 2}, {0, 1}),
                         "avg_pool2d: stride (0, 1) must be positive", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::avg_pool2d(filled({1, 1, 2, 4}), {5, 5}, {1, 1}, {1, 1}),
                         "avg_pool2d: kernel (5, 5) is larger than the padded input (4, 6) of (1, 1, 2, 4)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::adaptive_avg_pool2d(filled({1, 1, 4, 4}), {0, 2}),
                         "adaptive_avg_pool2d: output size (0, 2) must be positive", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::adaptive_avg_pool2d(filled({1, 1, 0, 4}), {2, 2}),
                         "adaptive_avg_pool2d: input (1, 1, 0, 4) has no rows or columns to average", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::adaptive_avg_pool2d(filled({2, 4}), {2, 2}),
                         "adaptive_avg_pool2d: input must be 4-D (N, C, H, W), got (2, 4)", xg::ShapeError);
}

TEST_CASE("a shape whose extents overflow is a ShapeError naming it, before anything is allocated") {
    const xg::Shape huge{std::size_t{1} << 32, std::size_t{1} << 32};
    const xg::Shape empty_but_huge{0, std::size_t{1} << 32, std::size_t{1} << 32};
    const std::string past = " is too large: its extents multiply past 2^63 bytes";
    xg::Generator g(1);
    CHECK_THROWS_WITH_AS(xg::zeros(huge), ("zeros: shape (4294967296, 4294967296) of float32" + past).c_str(),
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::ones(empty_but_huge, xg::Dtype::float64),
                         ("ones: shape (0, 4294967296, 4294967296) of float64" + past).c_str(), xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::full(huge, 2.0), ("full: shape (4294967296, 4294967296) of float32" + past).c_str(),
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::randn(huge, g), ("randn: shape (4294967296, 4294967296) of float32" + past).c_str(),
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::rand(empty_but_huge, g),
                         ("rand: shape (0, 4294967296, 4294967296) of float32" + past).c_str(), xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::broadcast_to(xg::Var(1.0), huge),
                         ("broadcast_to: shape (4294967296, 4294967296) of float64" + past).c_str(), xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::reshape(xg::zeros({0}), {std::ptrdiff_t{1} << 32, std::ptrdiff_t{1} << 32, 0}),
                         "reshape: cannot reshape (0,) to (4294967296, 4294967296, 0): its extents multiply past 2^63 "
                         "bytes",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::reshape(xg::zeros({0}), {-1, std::ptrdiff_t{1} << 32, std::ptrdiff_t{1} << 32}),
                         "reshape: cannot reshape (0,) to (-1, 4294967296, 4294967296): its extents multiply past "
                         "2^63 bytes",
                         xg::ShapeError);
    // The largest shapes that can exist are not refused for their size (they fail later, for want of memory).
    CHECK(xg::reshape(xg::zeros({0}), {0, std::ptrdiff_t{1} << 30, std::ptrdiff_t{1} << 30}).shape() ==
          xg::Shape{0, std::size_t{1} << 30, std::size_t{1} << 30});
}

TEST_CASE("parameters that could only make NaN are refused") {
    xg::Generator g(1);
    CHECK_THROWS_WITH_AS(xg::randn({2}, g, xg::Dtype::float32, 0.0, std::nan("")),
                         "randn: mean must be a finite number and std a finite non-negative one, got 0 and nan",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::randn({2}, g, xg::Dtype::float32, 0.0, -1.0),
                         "randn: mean must be a finite number and std a finite non-negative one, got 0 and -1",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::rand({2}, g, xg::Dtype::float32, 1.0, 0.0),
                         "rand: the range [1, 0) must be finite with low <= high", xg::Error);
    CHECK_THROWS_WITH_AS(xg::rand({2}, g, xg::Dtype::float32, 0.0, HUGE_VAL),
                         "rand: the range [0, inf) must be finite with low <= high", xg::Error);
    CHECK_THROWS_WITH_AS(xg::leaky_relu(xg::ones({2}), std::nan("")),
                         "leaky_relu: negative_slope must be a finite number, got nan", xg::Error);
    const xg::Var x = xg::ones({2}, xg::Dtype::float64).set_requires_grad();
    CHECK_THROWS_WITH_AS(xg::gradcheck([](const std::vector<xg::Var>& v) { return xg::sum(v[0]); }, {x}, {.eps = 0.0}),
                         "gradcheck: eps must be a positive number, got 0", xg::Error);
}

TEST_CASE("loss input errors") {
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({4, 3}), {0, 1, 2}),
                         "softmax_cross_entropy: 3 targets for logits of shape (4, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({2, 3}), {0, 3}),
                         "softmax_cross_entropy: class 3 at position 1 is out of range for 3 classes", xg::Error);
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({2, 3}), filled({2, 4})),
                         "softmax_cross_entropy: targets (2, 4) must match logits (2, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({6}), {0}),
                         "softmax_cross_entropy: logits must be 2-D (batch, classes), got (6,)", xg::ShapeError);
    xg::Generator g(1);
    CHECK_THROWS_WITH_AS(xg::dropout(filled({2}), 1.5, g), "dropout: probability p must be in [0, 1], got 1.5",
                         xg::Error);
}

TEST_CASE("graph errors") {
    Var x(xt::xarray<double>{1.0, 2.0}, true);
    CHECK_THROWS_WITH_AS((x * x).backward(),
                         "backward: the output of 'mul' has shape (2,); a non-scalar output needs an output gradient of "
                         "that shape, e.g. backward(y, ones_like(y))",
                         xg::GraphError);
    CHECK_THROWS_WITH_AS((x * x).backward(filled({3})),
                         "backward: the output gradient has shape (3,) but the output of 'mul' has shape (2,)",
                         xg::ShapeError);

    const Var y = xg::sum(xg::exp(x));
    y.backward();
    CHECK_THROWS_WITH_AS(y.backward(),
                         "backward: the graph through 'sum' was already freed by an earlier backward; pass "
                         "retain_graph=true to the first backward to run backward through it again",
                         xg::GraphError);

    CHECK_THROWS_WITH_AS(xg::sum(filled({2})).backward(),
                         "backward: the output of 'leaf' does not require grad (no leaf it depends on has "
                         "requires_grad=true, or it was computed under NoGradGuard)",
                         xg::GraphError);
    Var product = x * 2.0;
    CHECK_THROWS_AS(product.set_requires_grad(false), xg::GraphError);
    CHECK_THROWS_WITH_AS(x.value<float>(), "value<float32>(): the variable is float64", xg::DtypeError);
    CHECK_THROWS_WITH_AS(x.item(), "item: only one-element variables convert to a number, got shape (2,)",
                         xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::exp(Var()), "exp: undefined variable (a default-constructed Var)", xg::Error);
}

TEST_CASE("anomaly mode names the op that made a NaN or Inf") {
    const Var x(xt::xarray<double>{1.0, -1.0}, true);
    {
        xg::DetectAnomalyGuard anomaly;
        CHECK(xg::is_anomaly_enabled());
        CHECK_THROWS_WITH_AS(xg::log(x), "anomaly: 'log' produced NaN in its output (shape (2,), first at flat index 1)",
                             xg::AnomalyError);
        // sqrt(0) is fine forward; its gradient 1/(2·sqrt(0)) is Inf.
        const Var z(xt::xarray<double>{0.0, 4.0}, true);
        const Var s = xg::sum(xg::sqrt(z));
        CHECK_THROWS_WITH_AS(s.backward(),
                             "anomaly: backward of 'sqrt' produced Inf in the output of 'div' (shape (2,), first at "
                             "flat index 0)",
                             xg::AnomalyError);
    }
    CHECK_FALSE(xg::is_anomaly_enabled());
    CHECK(std::isnan(xg::log(x).value<double>()(1)));  // outside the guard NaN passes, as in PyTorch
}

TEST_CASE("an AnomalyError says in its fields which op, which phase and which value") {
    xg::DetectAnomalyGuard anomaly;
    const auto caught = [](const auto& f) {
        try {
            f();
        } catch (const xg::AnomalyError& error) {
            return error;
        }
        FAIL("no AnomalyError");
        return xg::AnomalyError("unreachable");
    };
    const Var x(xt::xarray<double>{{1.0, 2.0}, {3.0, -1.0}}, true);
    const xg::AnomalyError forward = caught([&] { xg::log(x); });
    CHECK(forward.op == "log");
    CHECK(forward.phase == xg::AnomalyError::Phase::forward);
    CHECK(forward.value == "output");
    CHECK(forward.nan);
    CHECK(forward.shape == std::vector<std::size_t>{2, 2});
    CHECK(forward.flat_index == 3);

    // An op run inside sqrt's vector-Jacobian product: blamed on sqrt, the value named by the inner op.
    const Var z(xt::xarray<double>{4.0, 0.0, 1.0}, true);
    const xg::AnomalyError inner = caught([&] { xg::sum(xg::sqrt(z)).backward(); });
    CHECK(inner.op == "sqrt");
    CHECK(inner.phase == xg::AnomalyError::Phase::backward);
    CHECK(inner.value == "output of 'div'");
    CHECK_FALSE(inner.nan);
    CHECK(inner.flat_index == 1);

    // What a vector-Jacobian product hands to an input: add passes an infinite output gradient on unchanged.
    const Var a(xt::xarray<double>{1.0, 2.0}, true), b(xt::xarray<double>{3.0, 4.0}, true);
    const Var total = a + b;
    const Var huge(xt::xarray<double>{1.0, std::numeric_limits<double>::infinity()});
    const xg::AnomalyError handed = caught([&] { total.backward(huge); });
    CHECK(handed.op == "add");
    CHECK(handed.phase == xg::AnomalyError::Phase::backward);
    CHECK(handed.value == "gradient of input 0");
    CHECK(handed.flat_index == 1);
    CHECK(std::string(handed.what()) ==
          "anomaly: backward of 'add' produced Inf in the gradient of input 0 (shape (2,), first at flat index 1)");
}

TEST_CASE("an error inside backward leaves the variables usable") {
    Var x(xt::xarray<double>{0.0, 4.0}, true);
    {
        xg::DetectAnomalyGuard anomaly;
        CHECK_THROWS_AS(xg::sum(xg::sqrt(x)).backward(), xg::AnomalyError);
    }
    xg::sum(x * x).backward();
    CHECK(x.grad().value<double>() == xt::xarray<double>{0.0, 8.0});
}

TEST_CASE("ops over an empty axis give an empty result or a ShapeError, never a read past the end") {
    // softmax and log_softmax over an empty axis: as empty as the input (PyTorch's too), and differentiable.
    for (const xg::Shape& shape : {xg::Shape{5, 0}, xg::Shape{0}}) {
        const Var x = xg::zeros(shape, xg::Dtype::float64).set_requires_grad();
        const Var p = xg::softmax(x), log_p = xg::log_softmax(x);
        CHECK(p.shape() == shape);
        CHECK(log_p.shape() == shape);
        xg::sum(p + log_p).backward();
        CHECK(x.grad().shape() == shape);
    }
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({5, 0}), {0, 0, 0, 0, 0}),
                         "softmax_cross_entropy: no classes, logits (5, 0)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::softmax_cross_entropy(filled({5, 0}), filled({5, 0})),
                         "softmax_cross_entropy: no classes, logits (5, 0)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::max(filled({5, 0}), 1), "max: axis 1 of shape (5, 0) is empty", xg::ShapeError);
    CHECK_THROWS_WITH_AS(xg::mean(filled({0})), "mean: empty variable of shape (0,)", xg::ShapeError);
    CHECK(xg::sum(filled({0})).item() == 0.0);
}
