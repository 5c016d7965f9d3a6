// Ownership: backward releases the graph, old steps' activations die, long chains neither recurse in backward
// nor in destruction, and threads record on their own tapes.
#include "check.hpp"

#include <memory>
#include <string>
#include <thread>

using xg::Var;

namespace {

struct Model {
    Var w1, b1, w2, b2;
    explicit Model(std::uint64_t seed) {
        xg::Generator g(seed);
        w1 = xg::randn({4, 8}, g, xg::Dtype::float32, 0, 0.5).set_requires_grad();
        b1 = xg::zeros({8}).set_requires_grad();
        w2 = xg::randn({8, 3}, g, xg::Dtype::float32, 0, 0.5).set_requires_grad();
        b2 = xg::zeros({3}).set_requires_grad();
    }
    // One SGD step on a fixed batch; returns the loss.
    double step(const Var& x, const std::vector<std::size_t>& labels) {
        const Var loss = xg::softmax_cross_entropy(xg::affine(xg::relu(xg::affine(x, w1, b1)), w2, b2), labels);
        loss.backward();
        xg::NoGradGuard no_grad;
        for (Var* p : {&w1, &b1, &w2, &b2}) {
            p->mutable_value<float>() -= 0.1f * p->grad().value<float>();
            p->zero_grad();
        }
        return loss.item();
    }
};

Var batch(std::vector<std::size_t>& labels) {
    xg::Generator g(77);
    labels.resize(16);
    for (auto& label : labels) label = g.below(3);
    return xg::randn({16, 4}, g);
}

}  // namespace

TEST_CASE("the tape returns to its baseline after every training step") {
    std::vector<std::size_t> labels;
    const Var x = batch(labels);
    Model model(1);
    const std::size_t baseline = xg::tape_size();
    for (int i = 0; i < 10; ++i) model.step(x, labels);
    CHECK(xg::tape_size() == baseline);
    double first = 0, last = 0;
    for (int i = 0; i < 1000; ++i) {
        const double loss = model.step(x, labels);
        if (i == 0) first = loss;
        last = loss;
    }
    CHECK(xg::tape_size() == baseline);
    CHECK(last < first);  // and it did train
}

TEST_CASE("activations are freed by backward, and by dropping an output without backward") {
    Var w(xt::xarray<double>{1.0, 2.0}, true);
    std::weak_ptr<xg::Node> hidden;
    const std::size_t baseline = xg::tape_size();
    {
        const Var h = xg::exp(w);
        hidden = h.node();
        const Var loss = xg::sum(h * h);
        CHECK(xg::tape_size() == baseline + 3);
        loss.backward();
        CHECK(xg::tape_size() == baseline);
    }
    CHECK(hidden.expired());
    {
        const Var loss = xg::sum(xg::exp(w) * w);
        hidden = loss.node();
    }
    CHECK(hidden.expired());
    CHECK(xg::tape_size() == baseline);
    CHECK(w.grad().defined());  // parameters outlive their tapes
}

TEST_CASE("a chain of 100,000 ops: backward and destruction without recursion") {
    Var x(1.0, true);
    Var y = x;
    for (int i = 0; i < 100000; ++i) y = y * 1.00001 + 0.0;
    CHECK(xg::tape_size() >= 200000);
    y.backward();
    CHECK(x.grad().item() == doctest::Approx(std::pow(1.00001, 100000)).epsilon(1e-9));
    CHECK(xg::tape_size() == 0);

    Var z = x;
    for (int i = 0; i < 100000; ++i) z = xg::tanh(z);
    z = Var();  // dropped without backward: 100,000 nodes freed iteratively
    CHECK(xg::tape_size() == 0);
}

TEST_CASE("two threads train two models at once, each on its own tape") {
    std::vector<std::size_t> labels;
    const Var x = batch(labels);
    const auto train = [&](std::uint64_t seed) {
        Model model(seed);
        double loss = 0;
        for (int i = 0; i < 300; ++i) loss = model.step(x, labels);  // x is shared, read-only
        return std::make_pair(loss, xt::xarray<float>(model.w1.value<float>()));
    };
    const auto alone1 = train(1), alone2 = train(2);
    std::pair<double, xt::xarray<float>> together1, together2;
    std::thread a([&] { together1 = train(1); });
    std::thread b([&] { together2 = train(2); });
    a.join();
    b.join();
    CHECK(together1.first == alone1.first);
    CHECK(together2.first == alone2.first);
    CHECK(together1.second == alone1.second);
    CHECK(together2.second == alone2.second);
}

TEST_CASE("backward of a graph recorded on another thread is refused") {
    Var w(2.0, true);
    Var loss;
    std::thread([&] { loss = w * w; }).join();
    CHECK_THROWS_WITH_AS(loss.backward(), "backward: 'mul' was recorded on another thread's tape", xg::GraphError);

    // Recorded by a thread that has finished, run by a new one: the new thread's tape may sit at the address the
    // finished one's had, which must not make the graph look like its own. Many rounds, so that reuse happens.
    for (int round = 0; round < 50; ++round) {
        Var product;
        std::thread([&] { product = w * w; }).join();
        std::string message;
        std::thread([&] {
            try {
                product.backward();
            } catch (const xg::GraphError& e) {
                message = e.what();
            }
        }).join();
        REQUIRE(message == "backward: 'mul' was recorded on another thread's tape");
    }
    CHECK(!w.grad().defined());
}

namespace {

// Whether the array at `data` went back to this thread's store: the next array of its size is that one.
bool returned_to_store(const double* data, std::size_t size) {
    return xg::uninitialized<double>({size}).data() == data;
}

}  // namespace

TEST_CASE("the graph keeps only what VJPs read: a value none saved is freed as its last handle goes") {
    constexpr std::size_t n = 4096;  // 32 KiB: values under 16 KiB stay until their graph goes
    const Var x(xt::xarray<double>(xt::linspace<double>(-2.0, 2.0, n)), true);
    const auto x_at = [&](std::size_t i) { return x.value<double>()(i); };

    // sigmoid's VJP reads its output, not its input: z is freed, and the gradient is still 2·σ'(2x).
    Var z = x * 2.0;
    const double* z_data = z.value<double>().data();
    Var y = xg::sigmoid(z);
    z = Var();
    CHECK(returned_to_store(z_data, n));
    // The graph still draws z with its shape.
    CHECK(xg::to_dot(y).find("mul_scalar\\n(4096,)") != std::string::npos);
    xg::sum(y).backward(Var(), /*retain_graph=*/true);
    xg::sum(y).backward();  // a second pass reads nothing that was freed either
    const std::vector<double> grad = x.grad().to_vector<double>();
    for (std::size_t i : {std::size_t{0}, n / 3, n - 1}) {
        const double s = 1.0 / (1.0 + std::exp(-2.0 * x_at(i)));
        CHECK(grad[i] == doctest::Approx(2 * 2.0 * s * (1.0 - s)).epsilon(1e-14));
    }

    // mul's VJP reads both inputs: w stays until its consumer's backward has run.
    Var w = x * 3.0;
    const double* w_data = w.value<double>().data();
    const Var product = w * w;
    w = Var();
    CHECK_FALSE(returned_to_store(w_data, n));
    xg::sum(product).backward();  // d/dx (3x)² = 18x, read from w's kept value
    CHECK(x.grad().to_vector<double>()[n - 1] == doctest::Approx(grad[n - 1] + 18.0 * x_at(n - 1)));

    // A value another handle of the user's still holds is not freed.
    Var held = x * 4.0;
    const Var other_handle = held;
    const double* held_data = held.value<double>().data();
    const Var exp_held = xg::exp(held);
    held = Var();
    CHECK_FALSE(returned_to_store(held_data, n));
    CHECK(other_handle.value<double>()(n - 1) == 8.0);

    // Nor is a small one.
    const Var small_x(xt::xarray<double>{1.0, 2.0, 3.0}, true);
    Var small = small_x * 2.0;
    const double* small_data = small.value<double>().data();
    const Var small_y = xg::sigmoid(small);
    small = Var();
    CHECK_FALSE(returned_to_store(small_data, 3));
}
