// Chapter 6 of "Deep Learning from Scratch" (techniques related to learning) on MNIST: four experiments, chosen with
// --experiment (all four by default), each in the book's setting as seed 002 (§6.1.8, §6.2.4, §6.3) and seed 003
// (lines ~2540-3480, the note-taker's own runs) describe it, each run from several seeds, with the seed's claim
// printed beside what we measure:
//
//   optimizers   SGD, Momentum, AdaGrad, RMSProp and Adam with the book's learning rates on the book's network
//                (784-100-100-100-100-10, ReLU, He start), batches of 128, 2000 iterations. Seed 002: SGD is the
//                slowest and the least accurate. Then seed 003's Momentum at lr 0.8 on its two-layer net, which
//                "never gets above about 0.2", beside lr 0.01, 0.1 and 0.3.
//   init         the same network trained by SGD (lr 0.01) from std 0.01, "Xavier" (std 1/√n) and He (std √(2/n))
//                starts. Seed 002: std 0.01 learns nothing, He does at least as well as Xavier.
//   batchnorm    the book's batch_norm_test: 5 hidden layers of 100 with and without BatchNorm1d, from 16 weight
//                scales between 1 and 1e-4, on 1000 training images, SGD lr 0.01, batches of 100, 20 epochs.
//                Seed 002: BN learns faster almost always; without it a badly scaled start does not learn at all.
//   standardize  seed 003's ThreeLayerNet_Op with AdaGrad for 16 epochs, its inputs standardized over the whole
//                training set or each batch on its own. The seed scores the per-batch model on raw inputs; scoring
//                it on inputs standardized the way it trained shows where the seed's drop in accuracy comes from.
//
// The book draws every batch at random with replacement; we shuffle once per epoch. Within one seed, every network
// of an experiment starts from the same weights and sees the same batches. Each experiment writes its curves and
// summary as CSV and SVG files into --out. Everything runs the seeds' full setting by default except Momentum's
// learning rates, 4 epochs instead of the seed's 16 unless --full; --seeds sets how many seeds (3).
#include "sample.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nn = xg::nn;
namespace optim = xg::optim;
namespace data = xg::data;

namespace {

// Numbers ------------------------------------------------------------------------------------------------------------

double mean_of(const std::vector<double>& values) { return sample::spread_of(values).mean; }

// The mean loss of the `window` batches that end at iteration `end` (counted from 1): one batch's loss is noisy.
double window_mean(const std::vector<double>& losses, std::size_t end, std::size_t window = 100) {
    const std::size_t begin = end > window ? end - window : 0;
    return std::accumulate(losses.begin() + static_cast<std::ptrdiff_t>(begin),
                           losses.begin() + static_cast<std::ptrdiff_t>(end), 0.0) /
           static_cast<double>(end - begin);
}

// The book's smooth_curve (common/util.py), which draws its loss figures: a Kaiser window of 11 points (β = 2),
// with the ends of the curve mirrored so that it keeps its length.
std::vector<double> smooth_curve(const std::vector<double>& x) {
    constexpr std::ptrdiff_t window = 11, half = window / 2;
    const auto n = static_cast<std::ptrdiff_t>(x.size());
    if (n < window) return x;
    std::vector<double> weights;
    for (std::ptrdiff_t k = 0; k < window; ++k) {
        const double r = 2.0 * static_cast<double>(k) / (window - 1) - 1.0;
        weights.push_back(std::cyl_bessel_i(0.0, 2.0 * std::sqrt(1.0 - r * r)));
    }
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    const auto at = [&](std::ptrdiff_t i) {  // numpy's np.r_[x[w-1:0:-1], x, x[-1:-w:-1]]
        return x[static_cast<std::size_t>(i < 0 ? -i : i >= n ? 2 * n - 1 - i : i)];
    };
    std::vector<double> smoothed(x.size());
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        double sum = 0.0;
        for (std::ptrdiff_t k = 0; k < window; ++k) sum += weights[static_cast<std::size_t>(k)] * at(i + k - half);
        smoothed[static_cast<std::size_t>(i)] = sum / total;
    }
    return smoothed;
}

// The curve with its values above `top` left out (NaN), as the book's plt.ylim leaves them out of its figures:
// line_chart fits its y axis to every value it draws.
std::vector<double> below(std::vector<double> curve, double top) {
    for (double& value : curve)
        if (value > top) value = std::numeric_limits<double>::quiet_NaN();
    return curve;
}

std::string seeds_text(std::size_t seeds) { return seeds == 1 ? "1 seed" : fmt::format("{} seeds", seeds); }

// Networks -----------------------------------------------------------------------------------------------------------

// Fills one weight matrix: the book's starts are N(0, std²) with a std fixed or given by the fan-in.
using WeightInit = std::function<void(xg::Var&, xg::Generator&)>;

WeightInit normal_std(double std) {
    return [std](xg::Var& w, xg::Generator& g) { xg::init::normal(w, g, 0.0, std); };
}
const WeightInit xavier = [](xg::Var& w, xg::Generator& g) {  // the book's "Xavier", std 1/√n (docs/nn.md)
    xg::init::kaiming_normal(w, g, xg::init::Nonlinearity::linear);
};
const WeightInit he = [](xg::Var& w, xg::Generator& g) { xg::init::kaiming_normal(w, g); };  // std √(2/n)
const WeightInit two_over_sqrt_n = [](xg::Var& w, xg::Generator& g) {  // seed 003's ThreeLayerNet_Op
    xg::init::normal(w, g, 0.0, 2.0 / std::sqrt(static_cast<double>(w.shape()[0])));
};

// The book's networks start every Linear from `init` with zero biases (BatchNorm's γ = 1 and β = 0 as made).
void initialize(nn::Module& model, const WeightInit& init, xg::Generator& generator) {
    for (const auto& [path, module] : model.named_modules())
        if (auto* linear = dynamic_cast<nn::Linear*>(module)) {
            init(linear->weight, generator);
            xg::init::zeros(linear->bias);
        }
}

// The book's MultiLayerNet(Extend): 784 → `hidden` layers of 100 ReLU units → 10, with BatchNorm1d between each
// hidden affine and its ReLU when `batchnorm` (eps the book's 10e-7; its momentum 0.9 is our 0.1).
nn::Sequential multi_layer_net(std::size_t hidden, bool batchnorm, const WeightInit& init, xg::Generator& generator) {
    nn::Sequential model;
    std::size_t inputs = 784;
    for (std::size_t layer = 0; layer < hidden; ++layer, inputs = 100) {
        model.push_back(nn::Linear(inputs, 100, generator));
        if (batchnorm) model.push_back(nn::BatchNorm1d(100, 10e-7));
        model.push_back(nn::ReLU());
    }
    model.push_back(nn::Linear(inputs, 10, generator));
    initialize(model, init, generator);
    return model;
}

// Seed 003's TwoLayerNet: 784-50-10 with a ReLU, weights 0.01·N(0, 1).
nn::Sequential two_layer_net(xg::Generator& generator) {
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    initialize(model, normal_std(0.01), generator);
    return model;
}

// Seed 003's ThreeLayerNet_Op (~line 3078): 784-50-50-10, weights N(0, (2/√n)²) (its code; its docstring says
// Xavier). The seed shows only the weights: the class derives from TwoLayerNet (affine, ReLU, affine) and its
// docstring gives the added layer a sigmoid. That reading reproduces the seed's figures; sigmoid in both layers
// ends about 2 points lower, ReLU in both overshoots on the training set.
nn::Sequential three_layer_net_op(xg::Generator& generator) {
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 50, generator), nn::Sigmoid(),
                         nn::Linear(50, 10, generator));
    initialize(model, two_over_sqrt_n, generator);
    return model;
}

// Hidden units of model[1] (a ReLU after model[0]) that output 0 for every row of `images`: they pass no gradient
// back, so nothing brings them back.
std::size_t dead_units(nn::Sequential& model, const data::Dataset& images) {
    xg::NoGradGuard no_grad;
    std::vector<bool> active;
    data::DataLoader batches(images, {.batch_size = 1000, .shuffle = false});
    for (const data::Batch& batch : batches) {
        const xg::Var hidden = model[1](model[0](batch.inputs));
        const xt::xarray<float>& h = hidden.value<float>();
        active.resize(h.shape(1), false);
        for (std::size_t row = 0; row < h.shape(0); ++row)
            for (std::size_t unit = 0; unit < h.shape(1); ++unit)
                if (h(row, unit) > 0.0f) active[unit] = true;
    }
    return static_cast<std::size_t>(std::count(active.begin(), active.end(), false));
}

// Training -----------------------------------------------------------------------------------------------------------

// The book counts iterations, not epochs: train on `iterations` batches of `loader` (a new order every epoch) and
// return each batch's loss, from the forward pass its gradient comes from. Unlike fit, a loss that stops being
// finite does not stop the run: it is the result.
std::vector<double> train_iterations(nn::Module& model, optim::Optimizer& optimizer, data::DataLoader& loader,
                                     std::size_t iterations) {
    std::vector<double> losses;
    model.train();
    while (losses.size() < iterations)
        for (const data::Batch& batch : loader) {
            xg::Var loss = xg::softmax_cross_entropy(model(batch.inputs), batch.labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            losses.push_back(loss.item());
            if (losses.size() == iterations) break;
        }
    return losses;
}

// Per-epoch training: `epochs` passes over `loader`, calling `after_epoch(epoch)` after each.
void train_epochs(nn::Module& model, optim::Optimizer& optimizer, data::DataLoader& loader, std::size_t epochs,
                  const std::function<void(std::size_t)>& after_epoch) {
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
        train_iterations(model, optimizer, loader, loader.size());
        after_epoch(epoch);
    }
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<xg::Var>)>;

template <class Optimizer, class Options>
MakeOptimizer make(Options options) {
    return [options](std::vector<xg::Var> parameters) -> std::unique_ptr<optim::Optimizer> {
        return std::make_unique<Optimizer>(std::move(parameters), options);
    };
}

// 1. and 2.: networks racing over the same 2000 batches ---------------------------------------------------------------

// optimizer_compare_mnist.py and weight_init_compare.py train hidden_size_list=[100, 100, 100, 100]: the book's
// "5-layer network" counts the 5 weight layers, so 4 hidden ones (its batch_norm_test has 5 hidden layers).
constexpr std::size_t book_iterations = 2000, book_batch = 128, book_hidden = 4;

struct Contender {
    std::string name;
    WeightInit init;
    MakeOptimizer optimizer;
};

struct RaceResult {
    std::vector<double> final_loss;     // per seed: the mean of the last 100 batches
    std::vector<double> test_accuracy;  // per seed
};

// Trains every contender from every seed on the book's network, prints the loss table and the test accuracies,
// and writes <name>_loss.csv, <name>_summary.csv and <name>_loss.svg (the book's smoothed curves, mean of seeds).
std::vector<RaceResult> race(const sample::Context& c, const std::vector<Contender>& contenders,
                             const std::string& name, const std::string& title) {
    const std::vector<std::size_t> marks = {1, 100, 500, 1000, 1500, 2000};
    fmt::print("loss: the mean of the 100 batches up to the iteration (iteration 1: its batch), mean of {};\n"
               "test accuracy after the last iteration: mean [min–max] of the seeds\n\n{:<24}",
               seeds_text(c.seeds), "iteration");
    for (std::size_t mark : marks) fmt::print("{:>7}", mark);
    fmt::print("   test accuracy\n");

    std::string loss_csv = "name,seed,iteration,loss,smoothed_loss\n";
    std::string summary_csv = "name,seed,final_loss,test_accuracy\n";
    std::vector<RaceResult> results;
    std::vector<xg::plot::Series> curves;
    constexpr double top = 2.5;  // the y range of the book's init figure: the curves start at ln 10 ≈ 2.30
    bool clipped = false;
    for (const Contender& contender : contenders) {
        RaceResult result;
        std::vector<std::vector<double>> losses, smoothed;
        for (std::size_t seed = 0; seed < c.seeds; ++seed) {
            xg::Generator generator(seed);
            nn::Sequential model = multi_layer_net(book_hidden, false, contender.init, generator);
            const auto optimizer = contender.optimizer(model.parameters());
            data::DataLoader batches(c.mnist.train,
                                     {.batch_size = book_batch, .shuffle = true, .drop_last = true, .seed = seed});
            losses.push_back(train_iterations(model, *optimizer, batches, book_iterations));
            smoothed.push_back(smooth_curve(losses.back()));
            result.final_loss.push_back(window_mean(losses.back(), book_iterations));
            result.test_accuracy.push_back(xg::evaluate(model, c.mnist.test).accuracy);
            for (std::size_t i = 0; i < book_iterations; ++i)
                loss_csv += fmt::format("{},{},{},{:.6g},{:.6g}\n", contender.name, seed, i + 1, losses.back()[i],
                                        smoothed.back()[i]);
            summary_csv += fmt::format("{},{},{:.6g},{:.6g}\n", contender.name, seed, result.final_loss.back(),
                                       result.test_accuracy.back());
        }
        fmt::print("{:<24}", contender.name);
        for (std::size_t mark : marks) {
            std::vector<double> at_mark;
            for (const std::vector<double>& run : losses)
                at_mark.push_back(window_mean(run, mark, mark == 1 ? 1 : 100));
            fmt::print("{:>7.3f}", mean_of(at_mark));
        }
        fmt::print("   {}\n", sample::mean_and_range(result.test_accuracy));
        std::fflush(stdout);
        const std::vector<double> curve = sample::mean_curve(smoothed);
        clipped = clipped || *std::max_element(curve.begin(), curve.end()) > top;
        curves.push_back({contender.name, sample::one_to(book_iterations), below(curve, top)});
        results.push_back(result);
    }
    const std::string svg = sample::output_file(c.flags, name + "_loss.svg");
    xg::plot::line_chart(curves, svg,
                         {fmt::format("{}: smoothed loss, mean of {}{}", title, seeds_text(c.seeds),
                                      clipped ? fmt::format(" (above {} not drawn)", top) : ""),
                          "iteration", "loss"});
    fmt::print("\nwrote {}, {} and {}\n", sample::save(c.flags, name + "_loss.csv", loss_csv),
               sample::save(c.flags, name + "_summary.csv", summary_csv), svg);
    return results;
}

// How many seeds give results[who] the highest final loss, and how many the lowest test accuracy, of all `results`.
std::pair<std::size_t, std::size_t> seeds_where_worst(const std::vector<RaceResult>& results, std::size_t who) {
    std::size_t highest_loss = 0, lowest_accuracy = 0;
    for (std::size_t seed = 0; seed < results[who].final_loss.size(); ++seed) {
        bool highest = true, lowest = true;
        for (std::size_t other = 0; other < results.size(); ++other) {
            if (other == who) continue;
            highest = highest && results[other].final_loss[seed] < results[who].final_loss[seed];
            lowest = lowest && results[other].test_accuracy[seed] > results[who].test_accuracy[seed];
        }
        highest_loss += highest;
        lowest_accuracy += lowest;
    }
    return {highest_loss, lowest_accuracy};
}

// Seed 003 (~line 2905) on its two-layer net: Momentum at lr 0.8 "never gets above about 0.2", where 0.01 (its
// code) and 0.1 (its note) learn; 0.3 shows where between 0.1 and 0.8 learning breaks down.
void momentum_learning_rates(const sample::Context& c) {
    const std::size_t epochs = c.full ? 16 : 4;
    fmt::print("\n-- Momentum's learning rate on seed 003's two-layer net (~line 2905) --\n"
               "784-50-10 ReLU, weights 0.01·N(0, 1), Momentum 0.9, batches of 100, {} epochs ({});\n"
               "test accuracy after each epoch, as the seed measures it, mean of {}\n\n",
               epochs, c.full ? "as the seed, whose 10000 iterations are 16.7 epochs" : "--full: 16, as the seed",
               seeds_text(c.seeds));
    const std::vector<double> lrs = {0.01, 0.1, 0.3, 0.8};
    std::vector<std::vector<std::vector<double>>> test_accuracy(lrs.size());  // [lr][seed][epoch]
    std::vector<std::vector<double>> dead(lrs.size());                        // [lr][seed]
    std::string csv = "lr,seed,epoch,train_accuracy,test_accuracy\n";
    for (std::size_t k = 0; k < lrs.size(); ++k)
        for (std::size_t seed = 0; seed < c.seeds; ++seed) {
            xg::Generator generator(seed);
            nn::Sequential model = two_layer_net(generator);
            optim::Momentum momentum(model.parameters(), {.lr = lrs[k], .momentum = 0.9});
            data::DataLoader batches(c.mnist.train, {.batch_size = 100, .shuffle = true, .seed = seed});
            std::vector<double>& curve = test_accuracy[k].emplace_back();
            train_epochs(model, momentum, batches, epochs, [&](std::size_t epoch) {
                const double train = xg::evaluate(model, c.mnist.train).accuracy;
                curve.push_back(xg::evaluate(model, c.mnist.test).accuracy);
                csv += fmt::format("{},{},{},{:.6g},{:.6g}\n", lrs[k], seed, epoch, train, curve.back());
            });
            dead[k].push_back(static_cast<double>(dead_units(model, c.mnist.train)));
        }

    const auto at_epoch = [&](std::size_t k, std::size_t epoch) {
        std::vector<double> values;
        for (const std::vector<double>& run : test_accuracy[k]) values.push_back(run[epoch - 1]);
        return values;
    };
    fmt::print("epoch");
    for (double lr : lrs) fmt::print("  lr={:<6}", lr);
    fmt::print("\n");
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
        fmt::print("{:>5}", epoch);
        for (std::size_t k = 0; k < lrs.size(); ++k) fmt::print("  {:<9.4f}", mean_of(at_epoch(k, epoch)));
        fmt::print("\n");
    }
    fmt::print("\n{:<8} {:<25} {}\n", "", fmt::format("test accuracy, epoch {}", epochs),
               "dead hidden ReLUs (of 50; 0 for every training image)");
    for (std::size_t k = 0; k < lrs.size(); ++k)
        fmt::print("lr={:<5} {:<25} {}\n", lrs[k], sample::mean_and_range(at_epoch(k, epochs)),
                   sample::mean_and_range(dead[k], 1));

    // "About 0.2" read as at most 0.25: from which epoch on does every seed stay there?
    std::size_t settled = epochs + 1;
    for (std::size_t epoch = epochs; epoch >= 1; --epoch) {
        const std::vector<double> values = at_epoch(lrs.size() - 1, epoch);
        if (sample::spread_of(values).max > 0.25) break;
        settled = epoch;
    }
    fmt::print("\nseed 003: with lr 0.8 the accuracy gets no higher than about 0.2 (with 0.1 it learns)\nours: ");
    if (settled == 1)
        fmt::print("lr 0.8 stays at or below 0.25 in every epoch of every seed → agrees\n");
    else if (settled <= epochs)
        fmt::print("lr 0.8 stays at or below 0.25 from epoch {} on in every seed, after {} at epoch 1\n"
                   "      → agrees from epoch {} on\n",
                   settled, sample::mean_and_range(at_epoch(lrs.size() - 1, 1)), settled);
    else
        fmt::print("lr 0.8 is above 0.25 after the last epoch in some seed → disagrees\n");
    fmt::print("lr 0.8 leaves {} of the 50 hidden ReLUs dead: they get no gradient, so nothing revives them\n",
               sample::mean_and_range(dead.back(), 1));

    std::vector<xg::plot::Series> curves;
    for (std::size_t k = 0; k < lrs.size(); ++k)
        curves.push_back({fmt::format("lr={}", lrs[k]), sample::one_to(epochs), sample::mean_curve(test_accuracy[k])});
    curves.push_back({"chance (0.1)", sample::one_to(epochs), std::vector<double>(epochs, 0.1)});
    const std::string svg = sample::output_file(c.flags, "momentum_lr.svg");
    xg::plot::line_chart(curves, svg,
                         {fmt::format("two-layer net, Momentum 0.9: test accuracy (mean of {})", seeds_text(c.seeds)),
                          "epoch", "test accuracy"});
    fmt::print("wrote {} and {}\n", sample::save(c.flags, "momentum_lr.csv", csv), svg);
}

void compare_optimizers(const sample::Context& c) {
    fmt::print("== 1. optimizers: the book's §6.1.8 (seed 002 §6.1.8) ==\n"
               "the book's setting: 784-100-100-100-100-10 ReLU (its \"5-layer\" net: 5 weight layers), He start,\n"
               "batches of 128, 2000 iterations; within a seed all five start from the same weights and see the same\n"
               "batches. The book's eps (1e-7) throughout; RMSprop is the book's (decay 0.99), which its comparison\n"
               "script leaves commented out.\n\n");
    const std::vector<Contender> contenders = {
        {"SGD(lr=0.01)", he, make<optim::SGD>(optim::SGDOptions{.lr = 0.01})},
        {"Momentum(lr=0.01, 0.9)", he, make<optim::Momentum>(optim::MomentumOptions{.lr = 0.01, .momentum = 0.9})},
        {"AdaGrad(lr=0.01)", he, make<optim::Adagrad>(optim::AdagradOptions{.lr = 0.01, .eps = 1e-7})},
        {"RMSprop(lr=0.01, 0.99)", he,
         make<optim::RMSprop>(optim::RMSpropOptions{.lr = 0.01, .alpha = 0.99, .eps = 1e-7})},
        {"Adam(lr=0.001)", he, make<optim::Adam>(optim::AdamOptions{.lr = 0.001, .eps = 1e-7})},
    };
    const std::vector<RaceResult> results = race(c, contenders, "optimizers", "optimizers");
    // The seed's claim is about the book's four methods; RMSprop is compared with SGD on its own.
    const auto [slowest, least_accurate] = seeds_where_worst({results[0], results[1], results[2], results[4]}, 0);
    const auto [rmsprop_slower, rmsprop_less_accurate] = seeds_where_worst({results[0], results[3]}, 1);
    fmt::print(
        "\nseed 002: of its four methods, SGD learns the least efficiently and reaches the lowest accuracy\n"
        "ours: among SGD, Momentum, AdaGrad and Adam, SGD ends with the highest loss in {}/{} seeds → {};\n"
        "      with the lowest test accuracy in {}/{} → {}\n"
        "      RMSprop (not in the seed's figure) ends above SGD's loss in {}/{} seeds, below its test accuracy "
        "in {}/{}\n",
        slowest, c.seeds, sample::verdict(slowest, c.seeds), least_accurate, c.seeds,
        sample::verdict(least_accurate, c.seeds), rmsprop_slower, c.seeds, rmsprop_less_accurate, c.seeds);
    momentum_learning_rates(c);
}

void compare_inits(const sample::Context& c) {
    fmt::print("== 2. init: the book's §6.2.4 (seed 002 §6.2.4) ==\n"
               "the book's setting: 784-100-100-100-100-10 ReLU, SGD lr 0.01, batches of 128, 2000 iterations;\n"
               "every layer (the output layer too) starts from the same kind of weights, biases zero\n\n");
    const MakeOptimizer sgd = make<optim::SGD>(optim::SGDOptions{.lr = 0.01});
    const std::vector<RaceResult> results = race(
        c, {{"std=0.01", normal_std(0.01), sgd}, {"Xavier (1/sqrt(n))", xavier, sgd}, {"He (sqrt(2/n))", he, sgd}},
        "init", "initial weights");

    // Learning nothing: the loss stays at ln 10, the loss of a uniform guess over 10 classes.
    std::size_t stuck = 0, he_lower = 0, he_more_accurate = 0;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) {
        stuck += std::abs(results[0].final_loss[seed] - std::log(10.0)) < 0.01;
        he_lower += results[2].final_loss[seed] <= results[1].final_loss[seed];
        he_more_accurate += results[2].test_accuracy[seed] >= results[1].test_accuracy[seed];
    }
    fmt::print(
        "\nseed 002: std=0.01 does not learn at all (loss stays at 2.30); He learns best\n"
        "ours: std=0.01 ends at loss {} (ln 10 = {:.4f}) in {}/{} seeds within 0.01 of ln 10 → {}\n"
        "      He ends with a loss at most Xavier's in {}/{} seeds → {}; test accuracy at least Xavier's in "
        "{}/{} → {}\n",
        sample::mean_and_range(results[0].final_loss), std::log(10.0), stuck, c.seeds, sample::verdict(stuck, c.seeds),
        he_lower, c.seeds, sample::verdict(he_lower, c.seeds), he_more_accurate, c.seeds,
        sample::verdict(he_more_accurate, c.seeds));
}

// 3. Batch Normalization ----------------------------------------------------------------------------------------------

void compare_batchnorm(const sample::Context& c) {
    constexpr std::size_t scales = 16, epochs = 20, images = 1000;
    fmt::print("== 3. batchnorm: the book's §6.3 batch_norm_test (seed 002 §6.3) ==\n"
               "the book's setting: 784-100x5-10 ReLU, BatchNorm1d after every hidden affine or none, weights\n"
               "N(0, W²) for 16 scales W = 10^(-4k/15), the first {} training images, SGD lr 0.01, batches of 100,\n"
               "{} epochs of 10 batches (the book's 20 points come after 1, 11, ..., 191 updates; ours after 10, ...,\n"
               "200); accuracy on those {} images in eval mode after each epoch. Both networks of a seed start from\n"
               "the same weights and see the same batches. {}.\n\n",
               images, epochs, images, seeds_text(c.seeds));
    std::vector<std::size_t> first(images);
    std::iota(first.begin(), first.end(), std::size_t{0});
    const data::Dataset train = c.mnist.train.subset(first);

    std::vector<double> weight_scales;
    for (std::size_t k = 0; k < scales; ++k)
        weight_scales.push_back(std::pow(10.0, -4.0 * static_cast<double>(k) / 15.0));
    // [scale][batchnorm][seed] → accuracy after each epoch
    std::vector<std::array<std::vector<std::vector<double>>, 2>> curves(scales);
    std::string epochs_csv = "scale,seed,batchnorm,epoch,train_accuracy\n";
    std::string summary_csv = "scale,seed,final_without,final_with,mean_without,mean_with\n";
    std::size_t bn_ahead = 0;
    std::vector<std::string> bn_behind;
    // Learning: past 30% on the training images in every seed; not learning: below 20% in every seed (the most
    // common digit is 11.7% of them).
    std::size_t without_stuck = 0, with_learns = 0;
    std::vector<std::string> without_learns;
    std::array<std::vector<double>, 2> final_mean;
    fmt::print("{:>9}   {:<25} {:<25} {}\n", "W", "final acc, no BN", "final acc, BN", "BN ahead (mean over epochs)");
    for (std::size_t k = 0; k < scales; ++k) {
        std::size_t ahead_here = 0;
        for (std::size_t seed = 0; seed < c.seeds; ++seed) {
            for (const bool batchnorm : {false, true}) {
                xg::Generator generator(seed);
                nn::Sequential model = multi_layer_net(5, batchnorm, normal_std(weight_scales[k]), generator);
                optim::SGD sgd(model.parameters(), {.lr = 0.01});
                data::DataLoader batches(train, {.batch_size = 100, .shuffle = true, .seed = seed});
                std::vector<double>& curve = curves[k][batchnorm].emplace_back();
                train_epochs(model, sgd, batches, epochs, [&](std::size_t epoch) {
                    curve.push_back(xg::evaluate(model, train).accuracy);
                    epochs_csv += fmt::format("{:.6g},{},{},{},{:.6g}\n", weight_scales[k], seed, batchnorm, epoch,
                                              curve.back());
                });
            }
            const std::vector<double>& without = curves[k][0][seed];
            const std::vector<double>& with = curves[k][1][seed];
            // "Learns faster": the higher curve on average over the epochs (the larger area under it).
            ahead_here += mean_of(with) > mean_of(without);
            summary_csv += fmt::format("{:.6g},{},{:.6g},{:.6g},{:.6g},{:.6g}\n", weight_scales[k], seed,
                                       without.back(), with.back(), mean_of(without), mean_of(with));
        }
        std::array<std::vector<double>, 2> last;
        for (const bool batchnorm : {false, true})
            for (const std::vector<double>& curve : curves[k][batchnorm]) last[batchnorm].push_back(curve.back());
        fmt::print("{:>9.3g}   {:<25} {:<25} {}/{}\n", weight_scales[k], sample::mean_and_range(last[0]),
                   sample::mean_and_range(last[1]), ahead_here, c.seeds);
        std::fflush(stdout);
        bn_ahead += ahead_here;
        if (ahead_here < c.seeds) bn_behind.push_back(fmt::format("{:.3g}", weight_scales[k]));
        for (const bool batchnorm : {false, true}) final_mean[batchnorm].push_back(mean_of(last[batchnorm]));
        if (sample::spread_of(last[0]).max < 0.2)
            ++without_stuck;
        else
            without_learns.push_back(fmt::format("{:.3g}", weight_scales[k]));
        with_learns += sample::spread_of(last[1]).min > 0.3;
    }
    const std::size_t runs = scales * c.seeds;
    fmt::print("\nseed 002: with BN learning is faster in almost every case; without BN, a start without a good\n"
               "scale does not learn at all\n"
               "ours: BN is ahead (a higher mean accuracy over the {} epochs) in {}/{} runs{} → {}\n"
               "      without BN every seed stays below 20% at {} of 16 scales{};\n"
               "      with BN every seed gets past 30% at {} of 16 → {}\n",
               epochs, bn_ahead, runs,
               bn_behind.empty() ? "" : fmt::format(", behind at W = {}", fmt::join(bn_behind, ", ")),
               bn_ahead * 5 >= runs * 4 ? "agrees" : "disagrees",  // "almost every case": at least 4 in 5
               without_stuck,
               without_learns.empty() ? "" : fmt::format(" (all but W = {})", fmt::join(without_learns, ", ")),
               with_learns, without_stuck >= scales / 2 && with_learns == scales ? "agrees" : "disagrees");

    // The book's panels run from W = 1 to W = 1e-4, so the x axis does too: −log10 W from 0 to 4.
    std::vector<double> exponent;
    for (double w : weight_scales) exponent.push_back(-std::log10(w));
    const std::string svg = sample::output_file(c.flags, "batchnorm_final.svg");
    xg::plot::line_chart({{"with BatchNorm", exponent, final_mean[1]}, {"without", exponent, final_mean[0]}}, svg,
                         {fmt::format("training accuracy after {} epochs (mean of {})", epochs, seeds_text(c.seeds)),
                          "-log10 W (initial weights N(0, W²); W = 1 on the left, 1e-4 on the right)", "accuracy"});
    fmt::print("wrote {}, {} and {}\n", sample::save(c.flags, "batchnorm_epochs.csv", epochs_csv),
               sample::save(c.flags, "batchnorm_summary.csv", summary_csv), svg);
}

// 4. Standardizing the inputs -----------------------------------------------------------------------------------------

// sklearn's StandardScaler().fit_transform on every batch the model trains on, as seed 003 does. In eval mode it
// passes the inputs through unchanged (the seed scores raw x_train and x_test) unless `in_eval` asks it to
// standardize each evaluation batch on its own as well.
class PerBatchStandardize : public nn::Module {
public:
    xg::Var forward(const xg::Var& x) override {
        if (!is_training() && !in_eval) return x;
        data::Dataset batch;
        batch.inputs = x.value<float>();
        return xg::Var(data::StandardScaler().fit(batch).transform(batch).inputs);
    }
    std::string description() const override { return "PerBatchStandardize"; }

    bool in_eval = false;
};

void compare_standardization(const sample::Context& c) {
    constexpr std::size_t epochs = 16;
    fmt::print("== 4. standardize: seed 003 lines ~3180-3420 ==\n"
               "the seed's setting: ThreeLayerNet_Op (784-50 ReLU-50 sigmoid-10, weights N(0, (2/sqrt(n))²)),\n"
               "AdaGrad lr 0.01, batches of 100, {} epochs (the seed's figures are its record after 16 epochs,\n"
               "iteration 9600 of 10000); accuracy on the whole training and test sets after each epoch,\n"
               "mean of {}\n\n",
               epochs, seeds_text(c.seeds));
    // The whole training set standardized with its own statistics, and the test set with the same ones. The seed
    // fits a second scaler on the test set; that version is scored too.
    data::StandardScaler scaler;
    scaler.fit(c.mnist.train);
    const data::Dataset train_std = scaler.transform(c.mnist.train), test_std = scaler.transform(c.mnist.test);
    const data::Dataset test_own = data::StandardScaler().fit(c.mnist.test).transform(c.mnist.test);

    // One evaluation after every epoch: a set, and whether the per-batch model standardizes its evaluation batches.
    struct Score {
        std::string name;
        const data::Dataset* data;
        bool per_batch = false;
    };
    struct Run {
        std::string name;
        const data::Dataset* train;
        bool per_batch;
        std::vector<Score> scores;
    };
    const std::vector<Run> runs = {
        {"raw", &c.mnist.train, false, {{"train", &c.mnist.train}, {"test", &c.mnist.test}}},
        {"whole set", &train_std, false,
         {{"train", &train_std}, {"test", &test_std}, {"test, own scaler (seed)", &test_own}}},
        {"per batch", &c.mnist.train, true,
         {{"train, raw (seed)", &c.mnist.train},
          {"test, raw (seed)", &c.mnist.test},
          {"train, per batch", &c.mnist.train, true},
          {"test, per batch", &c.mnist.test, true}}},
    };
    std::map<std::pair<std::string, std::string>, std::vector<std::vector<double>>> accuracy;  // [run, score][seed]
    std::string csv = "inputs,seed,epoch,scored_on,accuracy\n";
    for (const Run& run : runs)
        for (std::size_t seed = 0; seed < c.seeds; ++seed) {
            xg::Generator generator(seed);
            auto standardize = std::make_shared<PerBatchStandardize>();  // in the model of the per-batch run only
            nn::Sequential model;
            if (run.per_batch) model.push_back(standardize);
            model.push_back(three_layer_net_op(generator));
            optim::Adagrad adagrad(model.parameters(), {.lr = 0.01, .eps = 1e-7});
            for (const Score& score : run.scores) accuracy[{run.name, score.name}].emplace_back();
            xg::FitOptions options;
            options.epochs = epochs;
            options.loader = {.batch_size = 100, .shuffle = true, .seed = seed};
            options.progress = xg::Progress::none;
            options.on_epoch_end = [&](const xg::EpochRecord& record) {
                for (const Score& score : run.scores) {
                    standardize->in_eval = score.per_batch;
                    // Per-batch scoring standardizes 100 rows at a time, as many as a training batch has.
                    const double value = xg::evaluate(model, *score.data, {}, score.per_batch ? 100 : 1000).accuracy;
                    accuracy[{run.name, score.name}].back().push_back(value);
                    csv += fmt::format("{},{},{},{},{:.6g}\n", run.name, seed, record.epoch, score.name, value);
                }
                return true;
            };
            xg::fit(model, adagrad, *run.train, options);
        }

    // Every seed's accuracy after `epoch` for one run's score.
    const auto at = [&](const std::string& run, const std::string& score, std::size_t epoch) {
        std::vector<double> values;
        for (const std::vector<double>& curve : accuracy.at({run, score})) values.push_back(curve[epoch - 1]);
        return values;
    };
    const auto train_test = [&](const std::string& run, const std::string& train, const std::string& test,
                                std::size_t epoch) {
        return fmt::format("{:.4f} / {:.4f}", mean_of(at(run, train, epoch)), mean_of(at(run, test, epoch)));
    };
    fmt::print("{:>5}   {:<17} {:<19} {:<19} {}\n", "", "whole set", "per batch, scored", "per batch, scored",
               "raw inputs");
    fmt::print("{:>5}   {:<17} {:<19} {:<19} {}\n", "epoch", "train / test", "on raw (the seed)", "per batch",
               "train / test");
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch)
        fmt::print("{:>5}   {:<17} {:<19} {:<19} {}\n", epoch, train_test("whole set", "train", "test", epoch),
                   train_test("per batch", "train, raw (seed)", "test, raw (seed)", epoch),
                   train_test("per batch", "train, per batch", "test, per batch", epoch),
                   train_test("raw", "train", "test", epoch));

    fmt::print("\nafter {} epochs, {}:\n{:<44} {:<25} {:<25} {}\n", epochs,
               c.seeds == 1 ? "1 seed" : fmt::format("mean [min–max] of {} seeds", c.seeds), "inputs", "train", "test",
               "seed 003 (train / test)");
    const auto row = [&](const std::string& label, const std::string& run, const std::string& train,
                         const std::string& test, const std::string& seed_says) {
        std::string line = fmt::format("{:<44} {:<25} {:<25} {}", label,
                                       train.empty() ? "" : sample::mean_and_range(at(run, train, epochs)),
                                       sample::mean_and_range(at(run, test, epochs)), seed_says);
        line.erase(line.find_last_not_of(' ') + 1);
        fmt::print("{}\n", line);
    };
    row("whole training set", "whole set", "train", "test", "0.9816 / 0.9653");
    row("  test standardized on its own (the seed)", "whole set", "", "test, own scaler (seed)", "");
    row("each batch on its own, scored on raw (seed)", "per batch", "train, raw (seed)", "test, raw (seed)",
        "0.9036 / 0.8996");
    row("each batch on its own, scored per batch", "per batch", "train, per batch", "test, per batch", "");
    row("raw (no standardization)", "raw", "train", "test", "not given");

    const auto final_test = [&](const std::string& run, const std::string& score) {
        return mean_of(at(run, score, epochs));
    };
    const double whole = final_test("whole set", "test"), own = final_test("whole set", "test, own scaler (seed)");
    const double seed_way = final_test("per batch", "test, raw (seed)");
    const double consistent = final_test("per batch", "test, per batch");
    fmt::print("\nwhere the per-batch drop comes from (test accuracy, means):\n"
               "  scored on raw inputs instead of standardized per batch as in training: {:+.4f}\n"
               "  trained per batch instead of on the whole set (each scored as it trained): {:+.4f}\n"
               "  the seed's separate test scaler instead of the training set's: {:+.4f}\n",
               seed_way - consistent, consistent - whole, own - whole);
    fmt::print("so the drop comes {}\n",
               std::abs(seed_way - consistent) > std::abs(consistent - whole)
                   ? "from the mismatch: a model trained on standardized batches is scored on raw inputs"
                   : "from standardizing each batch on its own, not from how the seed scores it");

    // Seed by seed: how often one run ends above another on the same set.
    const auto higher = [&](const std::string& run, const std::string& score, const std::string& other_run,
                            const std::string& other_score) {
        const std::vector<double> a = at(run, score, epochs), b = at(other_run, other_score, epochs);
        std::size_t count = 0;
        for (std::size_t seed = 0; seed < a.size(); ++seed) count += a[seed] > b[seed];
        return fmt::format("{:+.4f}, higher in {}/{} seeds → {}", mean_of(a) - mean_of(b), count, a.size(),
                           sample::verdict(count, a.size()));
    };
    fmt::print("\nseed 003: standardizing the whole set raises accuracy over none; per batch it is even lower\n"
               "than none\n"
               "ours: whole set minus none, train                        {}\n"
               "      whole set minus none, test                         {}\n"
               "      none minus per batch, test, scored on raw (seed)   {}\n"
               "      none minus per batch, test, scored per batch       {}\n",
               higher("whole set", "train", "raw", "train"), higher("whole set", "test", "raw", "test"),
               higher("raw", "test", "per batch", "test, raw (seed)"),
               higher("raw", "test", "per batch", "test, per batch"));

    // Test error rather than accuracy: falling curves leave the top right, where line_chart puts its legend, empty.
    const auto error_curve = [&](const std::string& run, const std::string& score) {
        std::vector<double> error;
        for (std::size_t epoch = 1; epoch <= epochs; ++epoch) error.push_back(1.0 - mean_of(at(run, score, epoch)));
        return error;
    };
    const std::string svg = sample::output_file(c.flags, "standardize_error.svg");
    xg::plot::line_chart(
        {{"whole set", sample::one_to(epochs), error_curve("whole set", "test")},
         {"per batch, scored per batch", sample::one_to(epochs), error_curve("per batch", "test, per batch")},
         {"per batch, scored on raw (seed)", sample::one_to(epochs), error_curve("per batch", "test, raw (seed)")},
         {"raw", sample::one_to(epochs), error_curve("raw", "test")}},
        svg,
        {fmt::format("ThreeLayerNet_Op, AdaGrad: test error (mean of {})", seeds_text(c.seeds)), "epoch",
         "test error (1 - accuracy)"});
    fmt::print("wrote {} and {}\n", sample::save(c.flags, "standardize_epochs.csv", csv), svg);
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.data_dir = sample::default_mnist_directory();
    flags.out = "out/learning_techniques";
    std::string experiment = "all";
    std::size_t seeds = 3;
    bool full = false;
    const std::vector<sample::Experiment> experiments = {
        {"optimizers", compare_optimizers},
        {"init", compare_inits},
        {"batchnorm", compare_batchnorm},
        {"standardize", compare_standardization},
    };
    CLI::App app("Chapter 6 of Deep Learning from Scratch on MNIST: optimizers, initial weights, Batch Normalization "
                 "and standardized inputs, beside seeds 002 and 003");
    sample::add_experiment_flags(
        app, experiment, experiments, seeds, full,
        "the seeds' full setting where the default is shorter (Momentum's learning rates: 16 epochs)");
    sample::add_threads_flag(app, flags);
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    const data::Split mnist = sample::load_mnist(flags.data_dir);
    fmt::print("MNIST: {} training and {} test images from {}; {}; {}\n\n", mnist.train.size(),
               mnist.test.size(), flags.data_dir, seeds_text(seeds), full ? "full setting" : "default setting");
    const sample::Context context{mnist, flags, seeds, full};
    sample::run_experiments(experiment, experiments, context);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
