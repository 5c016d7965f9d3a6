// Data parallelism: parallel_backward's parts add up to the whole batch's gradient, its errors, and fit splitting
// batches across two threads with the same result as one thread up to rounding.
#include "check.hpp"

#include <cmath>
#include <thread>

using xg::Var;
namespace data = xg::data;
namespace nn = xg::nn;

namespace {

// Restores the thread count a test changed.
struct Threads {
    const int previous = xg::num_threads();
    explicit Threads(int threads) { xg::set_num_threads(threads); }
    ~Threads() { xg::set_num_threads(previous); }
};

// Largest |a − b| over two lists of same-shaped float64 variables.
double largest_difference(const std::vector<Var>& a, const std::vector<Var>& b) {
    REQUIRE(a.size() == b.size());
    double largest = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto x = a[i].to_vector<double>(), y = b[i].to_vector<double>();
        REQUIRE(x.size() == y.size());
        for (std::size_t j = 0; j < x.size(); ++j) largest = std::max(largest, std::abs(x[j] - y[j]));
    }
    return largest;
}

std::vector<Var> grads(const std::vector<Var>& parameters) {
    std::vector<Var> out;
    for (const Var& p : parameters) out.push_back(p.grad());
    return out;
}

}  // namespace

TEST_CASE("parallel_backward: two parts give the whole batch's gradient, added to what .grad held") {
    Threads threads(2);
    xg::Generator g(1);
    const Var x = xg::randn({40, 6}, g, xg::Dtype::float64);
    Var w = xg::randn({6, 3}, g, xg::Dtype::float64).set_requires_grad();
    Var b = xg::randn({3}, g, xg::Dtype::float64).set_requires_grad();
    const auto loss_of_rows = [&](std::size_t begin, std::size_t end) {
        const Var rows = xg::slice(x, 0, begin, end);
        return xg::sum(xg::tanh(xg::affine(rows, w, b)) * xg::tanh(xg::affine(rows, w, b)));
    };

    loss_of_rows(0, 40).backward();
    loss_of_rows(0, 40).backward();  // .grad = twice the whole batch's gradient
    const std::vector<Var> expected = {w.grad().detach(), b.grad().detach()};
    w.zero_grad();
    b.zero_grad();
    loss_of_rows(0, 40).backward();

    std::vector<std::thread::id> ran_on(2);
    xg::parallel_backward(2, [&](std::size_t part) {
        ran_on[part] = std::this_thread::get_id();
        loss_of_rows(part * 25, part == 0 ? 25 : 40).backward();
    });
    CHECK(ran_on[0] == std::this_thread::get_id());
    CHECK(ran_on[1] != std::this_thread::get_id());
    CHECK(largest_difference(grads({w, b}), expected) < 1e-12);

    // A second call reuses the worker's arrays: they are overwritten, not added to.
    w.zero_grad();
    b.zero_grad();
    xg::parallel_backward(2, [&](std::size_t part) { loss_of_rows(part * 25, part == 0 ? 25 : 40).backward(); });
    loss_of_rows(0, 40).backward();
    CHECK(largest_difference(grads({w, b}), expected) < 1e-12);
}

TEST_CASE("parallel_backward: a leaf without .grad gets one; modes are the caller's") {
    Threads threads(2);
    Var w = Var(xt::xarray<double>{1.0, 2.0}, true);
    xg::parallel_backward(2, [&](std::size_t part) { xg::sum(w * static_cast<double>(part + 1)).backward(); });
    CHECK(w.grad().to_vector<double>() == std::vector<double>{3.0, 3.0});

    xg::NoGradGuard no_grad;
    std::vector<int> recorded(2, 1);  // not vector<bool>, whose bits share a word the two parts would both write
    xg::parallel_backward(2, [&](std::size_t part) { recorded[part] = (w * 2.0).requires_grad(); });
    CHECK(recorded == std::vector<int>{0, 0});
}

TEST_CASE("parallel_backward: a part may use what itself uses the threads (a data loader, a large product)") {
    Threads threads(2);
    xg::Generator g(5);
    data::Dataset rows;
    rows.inputs = xg::rand({200, 800}, g).value<float>();  // batches of 100 × 800: gathered on both threads outside
    const Var w = xg::rand({800, 100}, g);                  // 100 × 800 × 100: a product split by rows outside
    std::vector<double> sums(2);
    xg::parallel_backward(2, [&](std::size_t part) {
        data::DataLoader loader(rows, {.batch_size = 100, .shuffle = false});
        for (const data::Batch& batch : loader) sums[part] += xg::sum(xg::matmul(batch.inputs, w)).item();
    });
    const double expected = xg::sum(xg::matmul(Var(rows.inputs), w)).item();
    CHECK(sums[0] == doctest::Approx(expected).epsilon(1e-5));
    CHECK(sums[1] == sums[0]);
}

TEST_CASE("parallel_backward: errors") {
    Threads threads(2);
    CHECK(check::error_message([] { xg::parallel_backward(3, [](std::size_t) {}); }) ==
          "parallel_backward: 3 parts need 3 threads, but xgrad uses 2 (set_num_threads)");
    CHECK(check::error_message([] {
              xg::parallel_backward(2, [](std::size_t part) {
                  if (part == 1) throw xg::Error("part 1 failed");
              });
          }) == "part 1 failed");
    Var w = Var(xt::xarray<double>{1.0}, true);
    CHECK(check::error_message<xg::GraphError>([&] {
              xg::parallel_backward(2, [&](std::size_t) { xg::grad(xg::sum(w * w), {w}); });
          }) == "grad: not available inside parallel_backward's parts, which may share the nodes it marks; call "
                "backward there");
    CHECK(check::error_message([] {
              xg::parallel_backward(2, [](std::size_t) { xg::parallel_backward(1, [](std::size_t) {}); });
          }) == "parallel_backward: a part cannot start parallel_backward again");
    CHECK(check::error_message([] { xg::set_num_threads(0); }) == "set_num_threads: threads must be at least 1, got 0");
}

namespace {

// Parameters after two epochs of fit, from the same start, on as many threads as xgrad uses.
std::vector<Var> trained(bool dropout, std::vector<double>* losses = nullptr) {
    xg::Generator g(7);
    const data::Dataset blobs = data::make_blobs(300, 10, 50, g);  // 300 rows: batches of 128, 128, 44
    nn::Sequential model(nn::Linear(50, 200, g, true, xg::Dtype::float64), nn::ReLU());
    if (dropout) model.push_back(nn::Dropout(0.0, g));
    model.push_back(nn::Linear(200, 10, g, true, xg::Dtype::float64));
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    xg::FitOptions options;
    options.epochs = 2;
    options.loader = {.batch_size = 128, .shuffle = true, .seed = 3};
    options.progress = xg::Progress::none;
    options.l2 = 1e-3;
    const xg::History history = xg::fit(model, sgd, blobs, options);
    if (losses)
        for (const xg::EpochRecord& r : history.epochs) losses->push_back(r.train_loss);
    std::vector<Var> out;
    for (const Var& p : model.parameters()) out.push_back(p.detach());
    return out;
}

}  // namespace

// The same on `threads` threads.
std::vector<Var> trained(int threads, bool dropout, std::vector<double>* losses = nullptr) {
    Threads using_threads(threads);
    return trained(dropout, losses);
}

TEST_CASE("fit on two threads ends where one thread does, up to rounding") {
    std::vector<double> one_losses, two_losses;
    const std::vector<Var> one = trained(1, false, &one_losses), two = trained(2, false, &two_losses);
    // Not equal to the last bit: that the sums were formed differently shows the batches were split.
    const double difference = largest_difference(one, two);
    CHECK(difference > 0.0);
    CHECK(difference < 1e-12);
    REQUIRE(one_losses.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(one_losses[i] - two_losses[i]) < 1e-12);

    // A model with a Dropout (state: its generator) is not split, so two threads change nothing.
    CHECK(largest_difference(trained(1, true), trained(2, true)) == 0.0);
}

namespace {

// A CNN's parameters after two epochs of fit on `threads` threads. With 32 · 9 + 32 + 512 · 10 + 10 = 5,450
// parameters, batches of 128 rows make two parts (128 · 5,450 ≥ 2 · 250,000), the last batch of 44 one.
std::vector<Var> trained_cnn(int threads, std::vector<double>& losses) {
    Threads using_threads(threads);
    xg::Generator g(9);
    data::Dataset blobs = data::make_blobs(300, 10, 144, g);
    blobs.inputs.reshape({300, 1, 12, 12});
    const xg::Dtype f64 = xg::Dtype::float64;
    nn::Sequential model(nn::Conv2d(1, 32, {3, 3}, g, {}, true, f64), nn::ReLU(), nn::MaxPool2d({2, 2}),
                         nn::AvgPool2d({3, 3}, {1, 1}, {1, 1}), nn::AdaptiveAvgPool2d({4, 4}), nn::Flatten(),
                         nn::Linear(512, 10, g, true, f64));
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    xg::FitOptions options;
    options.epochs = 2;
    options.loader = {.batch_size = 128, .shuffle = true, .seed = 3};
    options.progress = xg::Progress::none;
    for (const xg::EpochRecord& r : xg::fit(model, sgd, blobs, options).epochs) losses.push_back(r.train_loss);
    std::vector<Var> out;
    for (const Var& p : model.parameters()) out.push_back(p.detach());
    return out;
}

}  // namespace

TEST_CASE("fit splits a CNN's batches over two threads too: its convolution and pools read only their parameters") {
    std::vector<double> one_losses, two_losses;
    const std::vector<Var> one = trained_cnn(1, one_losses), two = trained_cnn(2, two_losses);
    const double difference = largest_difference(one, two);
    CHECK(difference > 0.0);
    CHECK(difference < 1e-12);
    REQUIRE(one_losses.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(one_losses[i] - two_losses[i]) < 1e-12);
}

TEST_CASE("two models trained by fit in two threads at once: one gets the workers, the other runs its parts itself") {
    Threads threads(2);
    const std::vector<Var> alone = trained(false);
    std::vector<Var> first, second;
    std::thread other([&] { second = trained(false); });
    first = trained(false);
    other.join();
    // Run in turn on one thread, the parts add up in the same order: the very same numbers.
    CHECK(largest_difference(first, alone) == 0.0);
    CHECK(largest_difference(second, alone) == 0.0);
}

TEST_CASE("evaluate and predict on two threads: each thread scores whole batches, the one-thread result bit for bit") {
    xg::Generator g(5);
    const data::Dataset blobs = data::make_blobs(1001, 4, 30, g);  // batches of 100: ten, then one of a single row
    // Dropout and BatchNorm only read in eval mode, so they run on threads too.
    nn::Sequential model(nn::Linear(30, 64, g, true, xg::Dtype::float64), nn::BatchNorm1d(64, 1e-5, 0.1,
                         xg::Dtype::float64), nn::ReLU(), nn::Dropout(0.5, g), nn::Linear(64, 4, g, true,
                         xg::Dtype::float64));
    // Running statistics other than 0 and 1, so that eval mode's use of them shows.
    model.train();
    (void)model(Var(blobs.inputs).to(xg::Dtype::float64));
    const auto scored = [&](int threads) {
        Threads using_threads(threads);
        const xg::Evaluation e = xg::evaluate(model, blobs, {}, 100);
        const Var outputs = xg::predict(model, blobs, 100);
        CHECK_FALSE(outputs.requires_grad());
        return std::tuple{e.loss, e.accuracy, outputs};
    };
    const auto [loss_1, accuracy_1, outputs_1] = scored(1);
    const auto [loss_2, accuracy_2, outputs_2] = scored(2);
    CHECK(loss_1 == loss_2);
    CHECK(accuracy_1 == accuracy_2);
    CHECK(largest_difference({outputs_1}, {outputs_2}) == 0.0);
    CHECK(model.is_training());  // the mode is put back

    // The batches cover every row once, in order: the outputs are the whole set's in one forward, up to rounding.
    model.eval();
    const Var whole = [&] {
        xg::NoGradGuard no_grad;
        return model(Var(blobs.inputs).to(xg::Dtype::float64));
    }();
    CHECK(outputs_2.shape() == whole.shape());
    CHECK(largest_difference({outputs_2}, {whole}) < 1e-12);
    const double whole_loss = xg::softmax_cross_entropy(whole, blobs.labels).item();
    CHECK(std::abs(loss_2 - whole_loss) < 1e-12);
    CHECK(accuracy_2 == xg::metrics::accuracy(whole, blobs.labels));
}

TEST_CASE("evaluate and predict: errors name the function") {
    Threads threads(2);
    xg::Generator g(5);
    const data::Dataset blobs = data::make_blobs(10, 2, 3, g);
    nn::Sequential model(nn::Linear(3, 2, g));
    CHECK(check::error_message([&] { xg::evaluate(model, blobs, {}, 0); }) == "evaluate: batch_size must be positive");
    CHECK(check::error_message([&] { xg::predict(model, blobs, 0); }) == "predict: batch_size must be positive");
    CHECK(check::error_message([&] { xg::predict(model, data::Dataset{}); }) == "predict: the dataset is empty");
    data::Dataset short_labels = blobs;
    short_labels.labels.pop_back();
    CHECK(check::error_message([&] { xg::evaluate(model, short_labels); }) ==
          "evaluate: 10 input rows but 9 labels");
}
