// Modules, initialization, penalties and seeded determinism: values by hand, gradients by gradcheck.
#include "check.hpp"

#include <cmath>

using xg::Var;
using Inputs = std::vector<Var>;
namespace nn = xg::nn;

namespace {

struct Net : nn::Module {
    std::shared_ptr<nn::Linear> fc1, fc2;
    std::shared_ptr<nn::BatchNorm1d> bn;
    explicit Net(xg::Generator& g) {
        fc1 = register_module("fc1", nn::Linear(4, 5, g));
        bn = register_module("bn", nn::BatchNorm1d(5));
        fc2 = register_module("fc2", nn::Linear(5, 3, g));
    }
    Var forward(const Var& x) override { return (*fc2)(xg::relu((*bn)((*fc1)(x)))); }
    std::string description() const override { return "Net"; }
};

std::vector<std::string> names_of(const xg::Named<Var>& named) {
    std::vector<std::string> out;
    for (const auto& [name, v] : named) out.push_back(name);
    return out;
}

// Mean and biased variance of column j of a float64 (N, C) array.
std::pair<double, double> column_moments(const xt::xarray<double>& a, std::size_t j) {
    const std::size_t n = a.shape()[0];
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < n; ++i) mean += a(i, j) / n;
    for (std::size_t i = 0; i < n; ++i) var += (a(i, j) - mean) * (a(i, j) - mean) / n;
    return {mean, var};
}

}  // namespace

TEST_CASE("modules name their parameters, buffers and children by path") {
    xg::Generator g(1);
    Net net(g);
    CHECK(names_of(net.named_parameters()) ==
          std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"});
    CHECK(names_of(net.named_buffers()) == std::vector<std::string>{"bn.running_mean", "bn.running_var"});
    CHECK(net.parameters().size() == 6);
    CHECK(net.parameters()[0].shape() == xg::Shape{4, 5});
    for (const Var& p : net.parameters()) CHECK(p.requires_grad());

    nn::Sequential seq(nn::Linear(2, 3, g), nn::ReLU(), nn::Linear(3, 1, g, false));
    CHECK(names_of(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
    CHECK(seq.size() == 3);
    CHECK(seq[1].description() == "ReLU");
    CHECK_THROWS_WITH_AS(seq[3], "Sequential: index 3 out of range for 3 modules", xg::Error);

    std::vector<std::string> module_paths;
    for (const auto& [path, m] : net.named_modules()) module_paths.push_back(path);
    CHECK(module_paths == std::vector<std::string>{"", "fc1", "bn", "fc2"});

    net.eval();
    CHECK_FALSE(net.is_training());
    CHECK_FALSE(net.bn->is_training());
    net.train();
    CHECK(net.bn->is_training());

    struct Twice : nn::Module {
        Twice() {
            register_buffer("b", xg::zeros({1}));
            register_parameter("b", xg::zeros({1}));
        }
        Var forward(const Var& x) override { return x; }
    };
    CHECK_THROWS_WITH_AS(Twice(), "Module: name 'b' is already registered", xg::Error);
}

TEST_CASE("zero_grad clears every parameter's gradient") {
    xg::Generator g(2);
    Net net(g);
    Var x = xg::rand({6, 4}, g);
    xg::sum(net(x)).backward();
    CHECK(xt::any(xt::not_equal(net.fc1->weight.grad().value<float>(), 0.0f)));
    net.zero_grad();
    for (const Var& p : net.parameters()) CHECK(xt::all(xt::equal(p.grad().value<float>(), 0.0f)));
}

TEST_CASE("Linear is x·W + b, starts in ±1/√in, and its gradients check") {
    xg::Generator g(3);
    nn::Linear fc(4, 3, g, true, xg::Dtype::float64);
    const double bound = 0.5;
    CHECK(xt::all(xt::abs(fc.weight.value<double>()) < bound));
    CHECK(xt::all(xt::abs(fc.bias.value<double>()) < bound));
    CHECK(fc.description() == "Linear(in=4, out=3)");

    Var x = check::input(g, {2, 4});
    const auto& X = x.value<double>();
    const auto& W = fc.weight.value<double>();
    const auto& b = fc.bias.value<double>();
    const auto y = fc(x).value<double>();
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            double expected = b(j);
            for (std::size_t k = 0; k < 4; ++k) expected += X(i, k) * W(k, j);
            CHECK(y(i, j) == doctest::Approx(expected).epsilon(1e-14));
        }
    check::gradient([&](const Inputs& in) { return fc(in[0]); }, {x, fc.weight, fc.bias});

    nn::Linear no_bias(4, 2, g, false);
    CHECK_FALSE(no_bias.bias.defined());
    CHECK(no_bias.parameters().size() == 1);
    CHECK(no_bias.description() == "Linear(in=4, out=2, bias=false)");
}

TEST_CASE("Conv2d is conv2d with its weight and bias, starts in ±1/√fan_in, and its gradients check") {
    xg::Generator g(11);
    const xg::Conv2dOptions options{.stride = {2, 1}, .padding = {1, 0}};
    nn::Conv2d conv(2, 4, {2, 3}, g, options, true, xg::Dtype::float64);
    CHECK(conv.weight.shape() == xg::Shape{4, 2, 2, 3});
    CHECK(conv.bias.shape() == xg::Shape{4});
    CHECK(names_of(conv.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(conv.description() == "Conv2d(2, 4, kernel=(2, 3), stride=(2, 1), padding=(1, 0))");

    Var x = check::input(g, {2, 2, 5, 4});
    const Var y = conv(x);
    CHECK(y.shape() == xg::Shape{2, 4, 3, 2});
    CHECK(y.value<double>() == xg::conv2d(x, conv.weight, conv.bias, options).value<double>());
    check::gradient([&](const Inputs& in) { return conv(in[0]); }, {x, conv.weight, conv.bias});

    // fan_in counts the channels of one group: 6 / 2 · 5 · 5 = 75.
    nn::Conv2d grouped(6, 8, {5, 5}, g, {.groups = 2}, true, xg::Dtype::float64);
    CHECK(grouped.weight.shape() == xg::Shape{8, 3, 5, 5});
    const double bound = 1.0 / std::sqrt(75.0);
    const auto& w = grouped.weight.value<double>();
    const auto& b = grouped.bias.value<double>();
    CHECK(xt::all(xt::abs(w) < bound));
    CHECK(xt::all(xt::abs(b) < bound));
    // Spread over the whole range: a fan_in of all 6 channels (bound 0.82 times this) would fail here.
    CHECK(xt::amax(xt::abs(w))() > 0.9 * bound);
    CHECK(xt::any(xt::abs(b) > 0.5 * bound));

    nn::Conv2d plain(3, 2, {1, 1}, g, {.dilation = {2, 3}}, false);
    CHECK_FALSE(plain.bias.defined());
    CHECK(plain.parameters().size() == 1);
    CHECK(plain.weight.dtype() == xg::Dtype::float32);
    CHECK(plain.description() == "Conv2d(3, 2, kernel=(1, 1), stride=(1, 1), dilation=(2, 3), bias=false)");
    Var images = xg::rand({1, 3, 4, 4}, g);
    CHECK(plain(images).value<float>() == xg::conv2d(images, plain.weight, Var(), {.dilation = {2, 3}}).value<float>());

    CHECK(nn::Conv2d(1, 30, {5, 5}, g).description() == "Conv2d(1, 30, kernel=(5, 5), stride=(1, 1))");
    CHECK(nn::Conv2d(4, 6, {3, 1}, g, {.stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}, .groups = 2})
              .description() == "Conv2d(4, 6, kernel=(3, 1), stride=(2, 2), padding=(1, 1), groups=2)");

    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(0, 4, {3, 3}, g); }) ==
          "Conv2d: in_channels and out_channels must be positive, got 0 and 4");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(2, 0, {3, 3}, g); }) ==
          "Conv2d: in_channels and out_channels must be positive, got 2 and 0");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(2, 4, {3, 0}, g); }) ==
          "Conv2d: kernel (3, 0) must be positive");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(2, 4, {3, 3}, g, {.stride = {0, 1}}); }) ==
          "Conv2d: stride (0, 1) must be positive");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(2, 4, {3, 3}, g, {.dilation = {1, 0}}); }) ==
          "Conv2d: dilation (1, 0) must be positive");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(3, 4, {3, 3}, g, {.groups = 2}); }) ==
          "Conv2d: in_channels 3 and out_channels 4 must be divisible by groups 2");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(4, 6, {3, 3}, g, {.groups = 4}); }) ==
          "Conv2d: in_channels 4 and out_channels 6 must be divisible by groups 4");
    CHECK(check::error_message<xg::ShapeError>([&] { nn::Conv2d(4, 6, {3, 3}, g, {.groups = 0}); }) ==
          "Conv2d: in_channels 4 and out_channels 6 must be divisible by groups 0");
}

TEST_CASE("pooling modules are their ops, the stride defaulting to the kernel, with no parameters") {
    xg::Generator g(12);
    Var x = check::input(g, {2, 3, 7, 6});
    const auto& X = x.value<double>();

    nn::MaxPool2d max_pool({2, 3});
    CHECK(max_pool.parameters().empty());
    CHECK(max_pool.description() == "MaxPool2d(kernel=(2, 3), stride=(2, 3))");
    CHECK(max_pool(x).value<double>() == xg::max_pool2d(x, {2, 3}, {2, 3}).value<double>());
    nn::MaxPool2d padded_max({3, 3}, {2, 1}, {1, 0});
    CHECK(padded_max.description() == "MaxPool2d(kernel=(3, 3), stride=(2, 1), padding=(1, 0))");
    CHECK(padded_max(x).value<double>() == xg::max_pool2d(x, {3, 3}, {2, 1}, {1, 0}).value<double>());

    nn::AvgPool2d avg_pool({3, 2});
    CHECK(avg_pool.parameters().empty());
    CHECK(avg_pool.description() == "AvgPool2d(kernel=(3, 2), stride=(3, 2))");
    CHECK(avg_pool(x).value<double>() == xg::avg_pool2d(x, {3, 2}, {3, 2}).value<double>());
    nn::AvgPool2d padded_avg({2, 2}, {1, 2}, {1, 1});
    CHECK(padded_avg.description() == "AvgPool2d(kernel=(2, 2), stride=(1, 2), padding=(1, 1))");
    CHECK(padded_avg(x).value<double>() == xg::avg_pool2d(x, {2, 2}, {1, 2}, {1, 1}).value<double>());

    nn::AdaptiveAvgPool2d global({1, 1});
    CHECK(global.parameters().empty());
    CHECK(global.description() == "AdaptiveAvgPool2d(output_size=(1, 1))");
    const Var pooled = global(x);
    CHECK(pooled.shape() == xg::Shape{2, 3, 1, 1});
    const auto& means = pooled.value<double>();
    double plane = 0.0;
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 6; ++j) plane += X(1, 2, i, j);
    CHECK(means(1, 2, 0, 0) == doctest::Approx(plane / 42.0).epsilon(1e-14));
    nn::AdaptiveAvgPool2d bins({3, 4});
    CHECK(bins.description() == "AdaptiveAvgPool2d(output_size=(3, 4))");
    CHECK(bins(x).value<double>() == xg::adaptive_avg_pool2d(x, {3, 4}).value<double>());

    check::gradient([&](const Inputs& in) { return padded_avg(padded_max(in[0])); }, {x});
    check::gradient([&](const Inputs& in) { return bins(in[0]); }, {x});

    CHECK(check::error_message<xg::ShapeError>([] { nn::MaxPool2d({0, 2}); }) ==
          "MaxPool2d: kernel (0, 2) must be positive");
    CHECK(check::error_message<xg::ShapeError>([] { nn::MaxPool2d({2, 2}, {2, 0}); }) ==
          "MaxPool2d: stride (2, 0) must be positive");
    CHECK(check::error_message<xg::ShapeError>([] { nn::MaxPool2d({2, 3}, {1, 1}, {1, 2}); }) ==
          "MaxPool2d: padding (1, 2) must be at most half the kernel (2, 3)");
    CHECK(check::error_message<xg::ShapeError>([] { nn::AvgPool2d({2, 0}); }) ==
          "AvgPool2d: kernel (2, 0) must be positive");
    CHECK(check::error_message<xg::ShapeError>([] { nn::AvgPool2d({2, 2}, {0, 1}); }) ==
          "AvgPool2d: stride (0, 1) must be positive");
    CHECK(check::error_message<xg::ShapeError>([] { nn::AvgPool2d({3, 3}, {1, 1}, {2, 1}); }) ==
          "AvgPool2d: padding (2, 1) must be at most half the kernel (3, 3)");
    CHECK(check::error_message<xg::ShapeError>([] { nn::AdaptiveAvgPool2d({1, 0}); }) ==
          "AdaptiveAvgPool2d: output_size (1, 0) must be positive");
}

TEST_CASE("activation modules are their functions; Functional wraps a lambda") {
    xg::Generator g(4);
    Var x = check::input(g, {3, 4});
    const auto same = [](const Var& a, const Var& b) { return xt::all(xt::equal(a.value<double>(), b.value<double>())); };
    CHECK(same(nn::Sigmoid()(x), xg::sigmoid(x)));
    CHECK(same(nn::Tanh()(x), xg::tanh(x)));
    CHECK(same(nn::ReLU()(x), xg::relu(x)));
    CHECK(same(nn::LeakyReLU(0.2)(x), xg::leaky_relu(x, 0.2)));
    CHECK(same(nn::Softmax()(x), xg::softmax(x)));
    CHECK(nn::LeakyReLU(0.2).description() == "LeakyReLU(negative_slope=0.2)");

    nn::Functional square([](const Var& v) { return v * v; }, "Square");
    CHECK(same(square(x), x * x));
    CHECK(square.description() == "Square");
    check::gradient([&](const Inputs& in) { return nn::Sequential(nn::Tanh(), nn::Softmax())(in[0]); }, {x});

    CHECK(nn::Flatten()(xg::zeros({2, 3, 4})).shape() == xg::Shape{2, 12});
}

TEST_CASE("loss modules are the loss functions") {
    xg::Generator g(5);
    Var logits = check::input(g, {3, 4});
    Var targets = xg::rand({3, 4}, g, xg::Dtype::float64);
    CHECK(nn::SoftmaxCrossEntropyLoss()(logits, {1, 0, 3}).item() == xg::softmax_cross_entropy(logits, {1, 0, 3}).item());
    CHECK(nn::BinaryCrossEntropyWithLogitsLoss()(logits, targets).item() ==
          xg::binary_cross_entropy_with_logits(logits, targets).item());
    CHECK(nn::MSELoss()(logits, targets).item() == xg::mse(logits, targets).item());
}

TEST_CASE("summary lists layers, output shapes and parameter counts") {
    xg::Generator g(6);
    nn::Sequential model(nn::Linear(784, 50, g), nn::ReLU(), nn::BatchNorm1d(50), nn::Linear(50, 10, g));
    model.train();
    const std::string table = nn::summary(model, {64, 784});
    INFO(table);
    CHECK(table ==
          "Input: (64, 784) float32\n"
          "====================================================================\n"
          "Layer (type)                                   Output shape  Param #\n"
          "====================================================================\n"
          "Sequential                                     (64, 10)           --\n"
          "  0: Linear(in=784, out=50)                    (64, 50)       39,250\n"
          "  1: ReLU                                      (64, 50)            0\n"
          "  2: BatchNorm1d(50, eps=1e-05, momentum=0.1)  (64, 50)          100\n"
          "  3: Linear(in=50, out=10)                     (64, 10)          510\n"
          "====================================================================\n"
          "Total params: 39,860\n"
          "Trainable params: 39,860\n"
          "Non-trainable params: 0\n"
          "Buffers: 100\n");
    CHECK(model.is_training());  // restored
    // Running statistics untouched: summary runs in eval mode.
    const auto& bn = static_cast<nn::BatchNorm1d&>(model[2]);
    CHECK(xt::all(xt::equal(bn.running_mean.value<float>(), 0.0f)));
}

TEST_CASE("summary follows images through convolution and pooling") {
    xg::Generator g(8);
    nn::Sequential model(nn::Conv2d(1, 4, {3, 3}, g), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                         nn::Linear(36, 10, g));
    const std::string table = nn::summary(model, {1, 1, 8, 8});
    INFO(table);
    CHECK(table ==
          "Input: (1, 1, 8, 8) float32\n"
          "======================================================================\n"
          "Layer (type)                                     Output shape  Param #\n"
          "======================================================================\n"
          "Sequential                                       (1, 10)            --\n"
          "  0: Conv2d(1, 4, kernel=(3, 3), stride=(1, 1))  (1, 4, 6, 6)       40\n"
          "  1: ReLU                                        (1, 4, 6, 6)        0\n"
          "  2: MaxPool2d(kernel=(2, 2), stride=(2, 2))     (1, 4, 3, 3)        0\n"
          "  3: Flatten                                     (1, 36)             0\n"
          "  4: Linear(in=36, out=10)                       (1, 10)           370\n"
          "======================================================================\n"
          "Total params: 410\n"
          "Trainable params: 410\n"
          "Non-trainable params: 0\n"
          "Buffers: 0\n");
}

TEST_CASE("BatchNorm1d normalizes per feature in training, uses running statistics in eval") {
    xg::Generator g(7);
    nn::BatchNorm1d bn(3, 1e-5, 0.1, xg::Dtype::float64);
    Var x = xg::rand({8, 3}, g, xg::Dtype::float64, -1.0, 5.0);
    const auto y = bn(x).value<double>();
    for (std::size_t j = 0; j < 3; ++j) {
        const auto [mean, var] = column_moments(y, j);
        CHECK(mean == doctest::Approx(0.0).epsilon(1e-12).scale(1.0));
        const auto [xm, xv] = column_moments(x.value<double>(), j);
        CHECK(var == doctest::Approx(xv / (xv + 1e-5)).epsilon(1e-12));
        // running = 0.9·initial + 0.1·batch, variance unbiased (n / (n − 1)).
        CHECK(bn.running_mean.value<double>()(j) == doctest::Approx(0.1 * xm).epsilon(1e-14));
        CHECK(bn.running_var.value<double>()(j) == doctest::Approx(0.9 + 0.1 * xv * 8.0 / 7.0).epsilon(1e-14));
    }

    bn.eval();
    Var z = xg::rand({2, 3}, g, xg::Dtype::float64);
    const auto out = bn(z).value<double>();
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(out(i, j) == doctest::Approx((z.value<double>()(i, j) - bn.running_mean.value<double>()(j)) /
                                               std::sqrt(bn.running_var.value<double>()(j) + 1e-5))
                                   .epsilon(1e-14));
    const auto before = bn.running_mean.value<double>();
    bn(z);
    CHECK(bn.running_mean.value<double>() == before);  // eval leaves the statistics alone

    bn.train();
    bn.weight.mutable_value<double>() = {1.5, -0.5, 2.0};
    bn.bias.mutable_value<double>() = {0.1, 0.2, -0.3};
    Var input = check::input(g, {5, 3});
    check::gradient([&](const Inputs& in) { return bn(in[0]); }, {input, bn.weight, bn.bias});
    check::gradient([&](const Inputs& in) { return xg::sum(xg::pow(bn(in[0]), 3.0)); }, {input});
    bn.eval();
    check::gradient([&](const Inputs& in) { return bn(in[0]); }, {input, bn.weight, bn.bias});

    bn.train();
    CHECK_THROWS_WITH_AS(bn(xg::zeros({1, 3}, xg::Dtype::float64)),
                         "BatchNorm1d: training needs more than one sample per batch, got input (1, 3)", xg::ShapeError);
    CHECK_THROWS_WITH_AS(bn(xg::zeros({4, 2}, xg::Dtype::float64)),
                         "BatchNorm1d: expected input of shape (batch, 3), got (4, 2)", xg::ShapeError);
}

TEST_CASE("Dropout keeps the expected value, gives dropped units no gradient, and is the identity in eval") {
    xg::Generator g(8);
    nn::Dropout drop(0.3, g);
    Var x = xg::ones({200000}, xg::Dtype::float64).set_requires_grad();
    Var y = drop(x);
    const auto& v = y.value<double>();
    CHECK(xt::mean(v)() == doctest::Approx(1.0).epsilon(0.01));
    const double dropped = static_cast<double>(xt::sum(xt::equal(v, 0.0))());
    CHECK(dropped / 200000.0 == doctest::Approx(0.3).epsilon(0.02));
    CHECK(xt::all(xt::equal(v, 0.0) || xt::isclose(v, 1.0 / 0.7)));
    xg::sum(y * 3.0).backward();
    const auto& grad = x.grad().value<double>();
    CHECK(xt::all(xt::equal(xt::equal(grad, 0.0), xt::equal(v, 0.0))));
    CHECK(xt::all(xt::equal(v, 0.0) || xt::isclose(grad, 3.0 / 0.7)));

    drop.eval();
    Var z = xg::rand({3, 3}, g);
    CHECK(drop(z).is_same(z));
    CHECK_THROWS_WITH_AS(nn::Dropout(1.5, g), "Dropout: probability p must be in [0, 1], got 1.5", xg::Error);
}

TEST_CASE("initializers: constants, spreads from fan-in and fan-out, same seed same bits") {
    xg::Generator g(9);
    Var w = xg::zeros({400, 300}, xg::Dtype::float64);
    const auto std_of = [](const Var& v) { return std::sqrt(xt::variance(v.value<double>())()); };
    xg::init::constant(w, 0.5);
    CHECK(xt::all(xt::equal(w.value<double>(), 0.5)));
    xg::init::normal(w, g, 0.0, 0.01);
    CHECK(std_of(w) == doctest::Approx(0.01).epsilon(0.01));
    xg::init::xavier_normal(w, g);
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 700.0)).epsilon(0.01));
    xg::init::xavier_uniform(w, g);
    CHECK(xt::amax(xt::abs(w.value<double>()))() <= std::sqrt(6.0 / 700.0));
    CHECK(std_of(w) == doctest::Approx(std::sqrt(6.0 / 700.0) / std::sqrt(3.0)).epsilon(0.01));
    xg::init::kaiming_normal(w, g);  // the seeds' He start, √(2/n)
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 400.0)).epsilon(0.01));
    xg::init::kaiming_normal(w, g, xg::init::Nonlinearity::linear);  // the seeds' "Xavier" start, 1/√n
    CHECK(std_of(w) == doctest::Approx(1.0 / 20.0).epsilon(0.01));
    xg::init::kaiming_normal(w, g, xg::init::Nonlinearity::relu, xg::init::FanMode::fan_out);
    CHECK(std_of(w) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.01));
    xg::init::kaiming_uniform(w, g);
    CHECK(xt::amax(xt::abs(w.value<double>()))() <= std::sqrt(6.0 / 400.0));

    CHECK(xg::init::calculate_gain(xg::init::Nonlinearity::tanh) == 5.0 / 3.0);
    CHECK(xg::init::calculate_gain(xg::init::Nonlinearity::leaky_relu, 0.2) == std::sqrt(2.0 / 1.04));
    CHECK(xg::init::fans(xg::zeros({3, 4, 5})) == std::pair<double, double>{15.0, 20.0});
    CHECK_THROWS_WITH_AS(xg::init::fans(Var(1.0)),
                         "init: fan-in and fan-out need a non-empty parameter with at least one axis, got shape ()",
                         xg::ShapeError);

    // Errors name the initializer called, not the randn or rand it draws with, and leave the parameter as it was.
    const xt::xarray<double> before = w.value<double>();
    CHECK_THROWS_WITH_AS(xg::init::normal(w, g, 0.0, -1.0),
                         "init::normal: mean must be a finite number and std a finite non-negative one, got 0 and -1",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::init::uniform(w, g, 1.0, 0.0),
                         "init::uniform: the range [1, 0) must be finite with low <= high", xg::Error);
    CHECK_THROWS_WITH_AS(xg::init::xavier_normal(w, g, std::nan("")),
                         "init::xavier_normal: mean must be a finite number and std a finite non-negative one, got 0 "
                         "and nan",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::init::xavier_uniform(w, g, -1.0),
                         "init::xavier_uniform: the range [0.09258200997725514, -0.09258200997725514) must be finite "
                         "with low <= high",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::init::kaiming_normal(w, g, xg::init::Nonlinearity::leaky_relu,
                                                  xg::init::FanMode::fan_in, std::nan("")),
                         "init::kaiming_normal: mean must be a finite number and std a finite non-negative one, got 0 "
                         "and nan",
                         xg::Error);
    CHECK_THROWS_WITH_AS(xg::init::kaiming_uniform(w, g, xg::init::Nonlinearity::leaky_relu,
                                                   xg::init::FanMode::fan_in, std::nan("")),
                         "init::kaiming_uniform: the range [-nan, nan) must be finite with low <= high", xg::Error);
    CHECK(w.value<double>() == before);
    Var undefined;
    CHECK_THROWS_WITH_AS(xg::init::uniform(undefined, g),
                         "init::uniform: undefined variable (a default-constructed Var)", xg::Error);

    xg::Generator a(42), b(42), c(43);
    Var wa = xg::zeros({50, 20}), wb = xg::zeros({50, 20}), wc = xg::zeros({50, 20});
    xg::init::xavier_normal(wa, a);
    xg::init::xavier_normal(wb, b);
    xg::init::xavier_normal(wc, c);
    CHECK(std::memcmp(wa.value<float>().data(), wb.value<float>().data(), 1000 * sizeof(float)) == 0);
    CHECK(wa.value<float>() != wc.value<float>());
}

TEST_CASE("L2 and L1 penalties: values, excluded biases, gradients") {
    xg::Generator g(10);
    nn::Sequential model(nn::Linear(3, 4, g, true, xg::Dtype::float64), nn::Linear(4, 2, g, true, xg::Dtype::float64));
    const auto params = model.parameters();
    double squares = 0, absolutes = 0, all_squares = 0;
    for (const Var& p : params) {
        const double s = xt::sum(p.value<double>() * p.value<double>())();
        all_squares += s;
        if (p.dim() == 2) {
            squares += s;
            absolutes += xt::sum(xt::abs(p.value<double>()))();
        }
    }
    CHECK(xg::l2_penalty(params, 0.1).item() == doctest::Approx(0.05 * squares).epsilon(1e-14));
    CHECK(xg::l2_penalty(params, 0.1, true).item() == doctest::Approx(0.05 * all_squares).epsilon(1e-14));
    CHECK(xg::l1_penalty(params, 0.1).item() == doctest::Approx(0.1 * absolutes).epsilon(1e-14));
    CHECK(xg::l2_penalty({}, 0.1).item() == 0.0);
    CHECK_THROWS_WITH_AS(xg::l2_penalty(params, -1.0), "l2_penalty: lambda must be a non-negative number, got -1", xg::Error);

    xg::l2_penalty(params, 0.1).backward();
    CHECK(xt::allclose(params[0].grad().value<double>(), 0.1 * params[0].value<double>()));
    CHECK_FALSE(params[1].grad().defined());  // the bias took no part

    Var w = check::input(g, {3, 3}, 0.1, 1.0);
    Var u = check::input(g, {2, 3}, -1.0, -0.1);
    check::gradient([](const Inputs& in) { return xg::l2_penalty(in, 0.3); }, {w, u});
    check::gradient([](const Inputs& in) { return xg::l1_penalty(in, 0.3); }, {w, u});
}

TEST_CASE("weight decay through l2_penalty shrinks weights by (1 − lr·λ) per SGD step") {
    xg::Generator g(11);
    nn::Linear fc(5, 5, g, true, xg::Dtype::float64);
    const xt::xarray<double> start = fc.weight.value<double>();
    const double lr = 0.1, lambda = 0.5;
    xg::optim::SGD sgd(fc.parameters(), {.lr = lr});
    for (int step = 0; step < 10; ++step) {
        sgd.zero_grad();
        xg::l2_penalty(fc.parameters(), lambda).backward();
        sgd.step();
    }
    CHECK(xt::allclose(fc.weight.value<double>(), start * std::pow(1.0 - lr * lambda, 10), 1e-13, 0.0));
}

TEST_CASE("the same seed trains bit-identically; another seed differs") {
    const auto train = [](std::uint64_t seed) {
        xg::Generator g(seed);
        nn::Sequential model(nn::Linear(6, 16, g), nn::ReLU(), nn::Dropout(0.2, g), nn::BatchNorm1d(16),
                             nn::Linear(16, 3, g));
        Var x = xg::randn({32, 6}, g);
        std::vector<std::size_t> y(32);
        for (auto& c : y) c = g.below(3);
        xg::optim::Adam adam(model.parameters(), {.lr = 0.01});
        std::vector<double> losses;
        for (int step = 0; step < 100; ++step) {
            adam.zero_grad();
            Var loss = xg::softmax_cross_entropy(model(x), y);
            losses.push_back(loss.item());
            loss.backward();
            adam.step();
        }
        return losses;
    };
    const auto first = train(7), again = train(7), other = train(8);
    CHECK(first == again);
    CHECK(first != other);
    CHECK(first.back() < first.front());
}

TEST_CASE("Module::to converts parameters, buffers and gradients in place; the model then computes in that dtype") {
    xg::Generator generator(3);
    Net net(generator);
    const Var weight = net.fc1->weight;  // a handle taken before, as an optimizer would hold
    const std::vector<double> before = weight.to_vector<double>();
    xg::sum(net(xg::rand({6, 4}, generator))).backward();
    net.to(xg::Dtype::float64);
    for (const auto& [name, v] : net.named_parameters()) {
        CHECK(v.dtype() == xg::Dtype::float64);
        CHECK(v.grad().dtype() == xg::Dtype::float64);
    }
    for (const auto& [name, v] : net.named_buffers()) CHECK(v.dtype() == xg::Dtype::float64);
    CHECK(weight.dtype() == xg::Dtype::float64);
    CHECK(weight.to_vector<double>() == before);  // float32 values are exact in float64
    CHECK(net(xg::rand({6, 4}, generator, xg::Dtype::float64)).dtype() == xg::Dtype::float64);
    net.to(xg::Dtype::float32);
    CHECK(weight.dtype() == xg::Dtype::float32);
    CHECK(weight.to_vector<double>() == before);
}
