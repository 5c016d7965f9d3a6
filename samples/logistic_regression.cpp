// Seed 004's logistic regression (Ng's course notes, §2.2–2.6 and §3.1): ŷ = a = σ(z) with z = wᵀx + b, the loss
// J = −[y log a + (1 − y) log(1 − a)] averaged over the m training examples, and gradient descent
// w := w − α·dw, b := b − α·db on two Gaussian blobs in the plane.
//
// §2.6 computes dw and db with a for-loop over the examples (dz = a − y, dw += x·dz, db += dz, then /= m); §3.1
// replaces the loop by one vectorized pass over the whole batch. Here the loop is one small graph per example whose
// backward adds into .grad, and the vectorized pass one graph over all m rows (our examples are rows, so the
// seed's wᵀX is X·w). Both give the same dw and db, and the times show what the loop costs. Then the vectorized
// version trains, and the held-out 20% gets the confusion matrix, accuracy, precision, recall, FPR, F1 and ROC AUC.
#include "sample.hpp"

#include <chrono>

namespace nn = xg::nn;
namespace data = xg::data;
namespace metrics = xg::metrics;

namespace {

// The cost J and its gradient (dw, db).
struct Gradients {
    double cost = 0.0;
    xt::xarray<double> dw;
    double db = 0.0;
};

// binary_cross_entropy_with_logits(z, y) is the seed's J with a = σ(z), computed without taking log(0) when a
// rounds to 0 or 1; its gradient with respect to z is the seed's dz = a − y (divided by the batch size).
xg::Var cost(nn::Linear& model, const xg::Var& x, const xg::Var& y) {
    return xg::binary_cross_entropy_with_logits(model(x), y);
}

// §2.6's loop: one graph per example. backward adds each example's gradient to what .grad holds (dw += x·dz,
// db += dz), and dividing by m at the end gives the mean, as on Ng's slide.
Gradients per_example(nn::Linear& model, const xg::Var& x, const xg::Var& y) {
    const std::size_t m = x.shape()[0];
    model.zero_grad();
    Gradients g;
    for (std::size_t i = 0; i < m; ++i) {
        const xg::Var loss = cost(model, xg::slice(x, 0, i, i + 1), xg::slice(y, 0, i, i + 1));
        g.cost += loss.item();
        loss.backward();
    }
    const auto n = static_cast<double>(m);
    g.cost /= n;
    g.dw = model.weight.grad().value<double>() / n;
    g.db = model.bias.grad().value<double>()(0) / n;
    return g;
}

// §3.1's vectorized pass: one graph over all m rows, whose loss is already the mean.
Gradients vectorized(nn::Linear& model, const xg::Var& x, const xg::Var& y) {
    const xg::Var loss = cost(model, x, y);
    const std::vector<xg::Var> d = xg::grad(loss, {model.weight, model.bias});
    return {loss.item(), d[0].value<double>(), d[1].value<double>()(0)};
}

// Seconds per call of `compute`, averaged over `repeats` calls.
template <class Compute>
double seconds_per_call(std::size_t repeats, Compute compute) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t r = 0; r < repeats; ++r) compute();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
           static_cast<double>(repeats);
}

// A dataset's inputs as float64 rows, and its labels as a float64 column of 0s and 1s.
xg::Var inputs_of(const data::Dataset& d) { return xg::Var(xt::xarray<double>(xt::cast<double>(d.inputs))); }
xg::Var targets_of(const data::Dataset& d) {
    xt::xarray<double> y = xt::xarray<double>::from_shape({d.size(), 1});
    for (std::size_t i = 0; i < d.size(); ++i) y(i, 0) = static_cast<double>(d.labels[i]);
    return xg::Var(y);
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.epochs = 500;
    flags.lr = 1.0;
    flags.out = "out/logistic_regression";
    std::size_t points = 1000;
    double cluster_std = 1.0;
    CLI::App app("Seed 004's logistic regression: the per-example loop against the vectorized pass, then full-batch "
                 "gradient descent on two Gaussian blobs");
    app.add_option("--epochs", flags.epochs, "gradient descent steps, each over the whole training set")
        ->check(sample::whole_number(1))
        ->capture_default_str();
    app.add_option("--lr", flags.lr, "learning rate α")->check(sample::positive())->capture_default_str();
    app.add_option("--seed", flags.seed, "seed of the points, the split and the initial weights")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    sample::add_out_flag(app, flags);
    app.add_option("--points", points, "how many points, half in each blob")
        ->check(CLI::Range(std::size_t{100}, std::size_t{10000000}))
        ->capture_default_str();
    app.add_option("--cluster-std", cluster_std, "standard deviation of each blob")
        ->check(sample::positive())
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(1);
    xg::Generator generator(flags.seed);
    // The features are on a unit scale already, so gradient descent needs no standardization.
    // Fixed centers (make_blobs(n, classes, …) would draw them, and with them how much the classes overlap) leave
    // the overlap to --cluster-std: at 1, the best possible boundary still misclassifies 7.9% of the points.
    const data::Split split =
        data::random_split(data::make_blobs(points, {{0.0, 0.0}, {2.0, 2.0}}, generator, cluster_std), 0.2, generator);
    const xg::Var x = inputs_of(split.train), y = targets_of(split.train);
    const std::size_t m = split.train.size();
    fmt::print("two blobs of std {} around (0, 0) and (2, 2): m = {} training and {} held-out points\n\n",
               cluster_std, m, split.test.size());

    // The seeds' Affine layer with one output: z = x·w + b, w of shape (2, 1).
    nn::Linear model(2, 1, generator, true, xg::Dtype::float64);

    const Gradients looped = per_example(model, x, y);
    const Gradients batched = vectorized(model, x, y);
    double difference = std::abs(looped.db - batched.db);
    for (std::size_t k = 0; k < 2; ++k) difference = std::max(difference, std::abs(looped.dw(k, 0) - batched.dw(k, 0)));
    fmt::print("J and its gradient at the initial weights, computed two ways:\n");
    const auto print_row = [](const char* name, const Gradients& g) {
        fmt::print("{:<18} {:>17.14f} {:>17.14f} {:>17.14f} {:>17.14f}\n", name, g.cost, g.dw(0, 0), g.dw(1, 0), g.db);
    };
    fmt::print("{:<18} {:>17} {:>17} {:>17} {:>17}\n", "", "J", "dw1", "dw2", "db");
    print_row("loop over m (§2.6)", looped);
    print_row("vectorized (§3.1)", batched);
    fmt::print("largest difference in dw, db: {:.1e}\n", difference);

    const std::size_t repeats = 20;
    const double loop_seconds = seconds_per_call(repeats, [&] { per_example(model, x, y); });
    const double vectorized_seconds = seconds_per_call(repeats, [&] { vectorized(model, x, y); });
    fmt::print("time per gradient, this run's numbers (mean of {}): loop {:.3f} ms, vectorized {:.3f} ms, {:.0f}x\n\n",
               repeats, 1e3 * loop_seconds, 1e3 * vectorized_seconds, loop_seconds / vectorized_seconds);

    // Full-batch gradient descent, vectorized: w := w − α·dw, b := b − α·db.
    xg::History history;
    const std::size_t report_every = std::max<std::size_t>(flags.epochs / 10, 1);
    for (std::size_t epoch = 1; epoch <= flags.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        const xg::Var logits = model(x);
        const xg::Var loss = xg::binary_cross_entropy_with_logits(logits, y);
        const std::vector<xg::Var> d = xg::grad(loss, {model.weight, model.bias});
        // Scored before the step, so both losses of an epoch belong to the same w and b.
        const xg::Evaluation heldout = xg::evaluate(model, split.test);
        {
            xg::NoGradGuard no_grad;
            model.weight.mutable_value<double>() -= flags.lr * d[0].value<double>();
            model.bias.mutable_value<double>() -= flags.lr * d[1].value<double>();
        }
        history.epochs.push_back({epoch, flags.lr, loss.item(), metrics::accuracy(logits, split.train.labels),
                                  heldout.loss, heldout.accuracy,
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1});
        if (epoch % report_every == 0 || epoch == 1)
            fmt::print("epoch {:>4}  J {:.5f}  held-out J {:.5f}\n", epoch, loss.item(), heldout.loss);
    }
    const xt::xarray<double>& w = model.weight.value<double>();
    // Two round blobs of equal spread have log-odds exactly linear in x: 2x1/σ² + 2x2/σ² − 4/σ².
    const double variance = cluster_std * cluster_std;
    fmt::print("\nw = ({:.4f}, {:.4f}), b = {:.4f}; the blobs' true log-odds have w = ({:.4f}, {:.4f}), b = {:.4f}\n\n",
               w(0, 0), w(1, 0), model.bias.value<double>()(0), 2.0 / variance, 2.0 / variance, -4.0 / variance);

    const xg::Var scores = xg::predict(model, split.test);
    const metrics::ConfusionMatrix confusion(metrics::predictions(scores), split.test.labels, 2);
    const xt::xarray<double>& logits = scores.value<double>();
    const metrics::RocCurve roc =
        metrics::roc_curve(std::vector<double>(logits.begin(), logits.end()), split.test.labels);
    fmt::print("held-out set (class 1 is positive, predicted when a > 0.5):\n{}\n", confusion.to_string());
    fmt::print("precision {:.4f}  recall (TPR) {:.4f}  FPR {:.4f}  F1 {:.4f}  ROC AUC {:.4f}\n",
               confusion.precision(metrics::Average::binary), confusion.recall(metrics::Average::binary),
               confusion.fpr(metrics::Average::binary), confusion.f1(metrics::Average::binary), roc.auc);

    history.save_csv(sample::output_file(flags, "history.csv"));
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {"logistic regression"});
    xg::plot::decision_boundary(model, split.test, sample::output_file(flags, "decision_boundary.svg"),
                                {"logistic regression: held-out points"});
    xg::plot::roc_curve(roc, sample::output_file(flags, "roc.svg"), {"logistic regression: ROC curve (held-out)"});
    fmt::print("\nwrote history.csv, curves.svg, decision_boundary.svg and roc.svg in {}\n", flags.out);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
