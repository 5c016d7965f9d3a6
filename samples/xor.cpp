// XOR, the function a single perceptron cannot represent, which seed 000's chapter on non-linear binary
// classification solves with a hidden layer (its figure xor_nn): here a 2-4-1 network with a tanh hidden layer
// learns it. The gradients are checked against central differences first, then
// plain gradient descent drives the loss down.
#include "sample.hpp"

#include <vector>

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.epochs = 2000;
    flags.lr = 0.5;
    flags.seed = 42;
    CLI::App app("A 2-4-1 tanh network learns XOR: gradient check, then full-batch gradient descent");
    app.add_option("--epochs", flags.epochs, "gradient descent steps")
        ->check(sample::whole_number(1))
        ->capture_default_str();
    app.add_option("--lr", flags.lr, "learning rate")->check(sample::positive())->capture_default_str();
    app.add_option("--seed", flags.seed, "seed of the initial weights")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(1);
    const xg::Var x(xt::xarray<float>{{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}});
    const xg::Var target = xg::reshape(xg::Var(xt::xarray<float>{0.f, 1.f, 1.f, 0.f}), {4, 1});

    xg::Generator generator(flags.seed);
    std::vector<xg::Var> parameters = {
        xg::randn({2, 4}, generator).set_requires_grad().set_name("W1"),
        xg::zeros({4}).set_requires_grad().set_name("b1"),
        xg::randn({4, 1}, generator).set_requires_grad().set_name("W2"),
        xg::zeros({1}).set_requires_grad().set_name("b2"),
    };
    auto loss_of = [&](const std::vector<xg::Var>& p) {
        xg::Var hidden = xg::tanh(xg::affine(x, p[0], p[1]));
        return xg::binary_cross_entropy_with_logits(xg::affine(hidden, p[2], p[3]), target);
    };

    // The check reruns the float32 network in float64, so it measures the gradient code, not float32 rounding.
    const xg::GradcheckReport check = xg::gradcheck(loss_of, parameters);
    fmt::print("gradient check (analytic vs central differences):\n{}gradient check {}\n\n", check.to_string(),
               check.passed ? "passed" : "FAILED");

    const auto learning_rate = static_cast<float>(flags.lr);
    for (std::size_t epoch = 0; epoch <= flags.epochs; ++epoch) {
        xg::Var loss = loss_of(parameters);
        loss.backward();
        if (epoch % std::max<std::size_t>(flags.epochs / 10, 1) == 0 || epoch == flags.epochs)
            fmt::print("epoch {:>4}  loss {:.6f}\n", epoch, loss.item());
        xg::NoGradGuard no_grad;
        for (xg::Var& p : parameters) {
            p.mutable_value<float>() -= learning_rate * p.grad().value<float>();
            p.zero_grad();
        }
    }

    xg::NoGradGuard no_grad;
    const xg::Var probability = xg::sigmoid(
        xg::affine(xg::tanh(xg::affine(x, parameters[0], parameters[1])), parameters[2], parameters[3]));
    fmt::print("\n x1 x2  target  p(1)\n");
    int correct = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const float p = probability.value<float>()(i, 0);
        const float t = target.value<float>()(i, 0);
        correct += (p > 0.5f) == (t > 0.5f);
        fmt::print("  {}  {}     {}    {:.4f}\n", x.value<float>()(i, 0), x.value<float>()(i, 1), t, p);
    }
    fmt::print("{}/4 correct\n", correct);
    return check.passed && correct == 4 ? 0 : 1;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
