// A primitive defined outside the library through <xgrad/primitive.hpp>, as docs/autograd.md shows it: its value,
// its gradients (first and second), and the engine's errors when a vjp misuses Backward.
#include "../check.hpp"

#include <xgrad/primitive.hpp>

#include <cmath>

using check::error_message;
using xg::Var;

namespace {

// softplus(x) = log(1 + exp(x)); its derivative is sigmoid(x).
Var softplus(const Var& x) {
    xg::Tensor value = xg::map_value(x, [](const auto& a) { return xt::log1p(xt::exp(a)); });
    return xg::record("softplus", std::move(value), {x}, [](xg::Backward& backward) {
        backward.add(0, backward.grad * xg::sigmoid(backward.input(0)));
    });
}

// A primitive whose vjp makes a mistake, to see the engine name it.
Var faulty(const Var& x, const std::function<void(xg::Backward&)>& vjp) {
    return xg::record("faulty", xg::Tensor(x.value<double>()), {x}, vjp);
}

}  // namespace

TEST_CASE("a primitive defined with record computes its value and passes gradcheck to second order") {
    Var x(xt::xarray<double>{-3.0, 0.0, 2.0}, true);
    const Var y = softplus(x);
    CHECK(std::string(y.op()) == "softplus");
    CHECK(y.value<double>()(0) == doctest::Approx(std::log1p(std::exp(-3.0))));
    CHECK(y.value<double>()(1) == doctest::Approx(std::log(2.0)));
    xg::sum(y).backward();
    CHECK(x.grad().value<double>()(2) == doctest::Approx(1.0 / (1.0 + std::exp(-2.0))));

    xg::Generator generator(7);
    const check::Function f = [](const std::vector<Var>& xs) { return xg::sum(softplus(xs[0]) * xs[1]); };
    check::gradient(f, {check::input(generator, {2, 3}), check::input(generator, {2, 3})});
    check::second_gradient(f, {check::input(generator, {2, 3}), check::input(generator, {2, 3})});
}

TEST_CASE("a primitive keeps float32, and records nothing when no input requires grad or under NoGradGuard") {
    const Var x32(xt::xarray<float>{0.5f, 1.5f}, true);
    CHECK(softplus(x32).dtype() == xg::Dtype::float32);
    CHECK(softplus(Var(xt::xarray<double>{1.0})).is_leaf());
    xg::NoGradGuard no_grad;
    CHECK(softplus(x32).is_leaf());
}

TEST_CASE("a vjp's gradient of the other dtype is converted to the input's, as PyTorch does") {
    Var x(xt::xarray<double>{1.0, 2.0}, true);
    xg::sum(xg::record("twice", xg::map_value(x, [](const auto& a) { return 2.0 * a; }), {x},
                       [](xg::Backward& backward) { backward.add(0, (backward.grad * 2.0).to(xg::Dtype::float32)); }))
        .backward();
    CHECK(x.grad().dtype() == xg::Dtype::float64);
    CHECK(x.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
}

TEST_CASE("record and Backward name the op when they are misused") {
    const Var x(xt::xarray<double>{1.0, 2.0}, true);
    CHECK(error_message([&] { xg::record("mine", xg::Tensor(xt::xarray<double>{1.0}), {x, Var()}, {}); }) ==
          "mine: input 1 is undefined (a default-constructed Var)");
    CHECK(error_message([&] { xg::record("", xg::Tensor(xt::xarray<double>{1.0}), {x}, {}); }) ==
          "record: an op needs a name (a string literal)");
    CHECK(error_message([&] { xg::sum(faulty(x, [](xg::Backward& b) { b.add(1, b.grad); })).backward(); }) ==
          "backward of 'faulty': there is no input 1; the op has 1 input");
    CHECK(error_message([&] { xg::sum(faulty(x, [](xg::Backward& b) { b.input(2); })).backward(); }) ==
          "backward of 'faulty': there is no input 2; the op has 1 input");
    CHECK(error_message([&] {
              xg::sum(faulty(x, [](xg::Backward& b) { b.add(0, xg::zeros({3}, xg::Dtype::float64)); })).backward();
          }) == "backward of 'faulty': gradient of shape (3,) does not fit input 0 of shape (2,)");
    CHECK(error_message([&] { xg::sum(faulty(x, [](xg::Backward& b) { b.add(0, Var()); })).backward(); }) ==
          "faulty: undefined variable (a default-constructed Var)");
}

TEST_CASE("a VJP reads only what record saved (Saved), and an input's shape always") {
    const Var x(xt::xarray<double>{1.0, 2.0}, true);
    const auto saving = [&](xg::Saved saved, const std::function<void(xg::Backward&)>& vjp) {
        return xg::record("saving", xg::Tensor(xt::xarray<double>(x.value<double>() * 2.0)), {x}, vjp, saved);
    };
    CHECK(error_message([&] {
              xg::sum(saving(xg::Saved::nothing(), [](xg::Backward& b) { b.add(0, b.grad * b.input(0)); })).backward();
          }) == "backward of 'saving': its VJP reads input 0, which record() was not told to save (Saved)");
    CHECK(error_message([&] {
              xg::sum(saving(xg::Saved::only_inputs({0}), [](xg::Backward& b) { b.add(0, b.output()); })).backward();
          }) == "backward of 'saving': its VJP reads the output, which record() was not told to save (Saved)");
    CHECK(error_message([&] {
              xg::sum(saving(xg::Saved::only_output(), [](xg::Backward& b) { (void)b.input_value(0); })).backward();
          }) == "backward of 'saving': its VJP reads input 0, which record() was not told to save (Saved)");

    // Saving nothing, the VJP still has the input's shape, also after that input's value (32 KiB) was freed.
    const Var wide = xg::full({4096}, 1.0, xg::Dtype::float64).set_requires_grad();
    Var hidden = wide * 3.0;
    const Var out = xg::record("broadcast_sum", xg::Tensor(xt::xarray<double>{0.0}), {hidden},
                               [](xg::Backward& b) { b.add(0, xg::broadcast_to(b.grad, b.input_shape(0))); },
                               xg::Saved::nothing());
    hidden = Var();
    out.backward(Var(xt::xarray<double>{1.0}));
    CHECK(wide.grad().to_vector<double>() == std::vector<double>(4096, 3.0));

    CHECK(xg::Saved::only_inputs({1}).with_output().input(1));
    CHECK_FALSE(xg::Saved::only_inputs({1}).with_output().input(0));
    CHECK(xg::Saved::only_inputs({1}).with_output().output);
}
