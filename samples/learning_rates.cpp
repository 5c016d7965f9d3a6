// Seed 000's learning-rate section ("学习率与批大小", lines ~560-770), the end of seed 001 (batch size 16 vs 32) and
// seed 004 §2.6 (Ng's learning-rate decay) on seeds 000/001's MNIST network (784-64-16-10, sigmoid and tanh, Xavier
// start, plain SGD, batches of 128), each experiment from several seeds, with the seed's claim printed beside what we
// measure. --experiment picks one (all four by default):
//
//   range_test  Table 4's stepped range test: 10 mini-batches at each rate of 0.0001-0.0009, 0.001-0.009, 0.01-0.09,
//               0.1-0.9 and 1.00-1.10, training carried on from rate to rate, then on in steps of 0.1 until the loss
//               passes its start. Where the loss is lowest and what the seed's rule picks a bit below it (the seed:
//               rising from 0.74, lowest near 0.8, picks 0.75), and how that rate trains from the start; beside it
//               xg::find_lr's exponential sweep over as many batches. Two more sweeps measure why ours differs: one
//               epoch at each rate (the unit of the seed's code), and the setting of the seed's code, a 1-4-1
//               sigmoid regression of chapter 9's curve.
//   rates       lr 0.2, 0.3, 0.5, 0.8 (seed 000: 0.5 ends best and passes 0.8 by epoch 10).
//   batch_size  batches of 16 and 32 at lr 0.1, 0.3, 0.5, 0.7 (seed 001: a larger rate goes with a larger batch).
//   decay       seed 000's step decay 0.1·0.9^⌊t/50⌋ beside a fixed 0.1, and Ng's α₀ / (1 + decay·epoch) from 0.8
//               beside a fixed 0.5.
//
// The seed's figures come from its code (ai-edu, ch12 Level4_LR_BS.py): 30 epochs, 5000 training images held out and
// scored twice an epoch. We train on all 60000 and score the test set after every epoch, for fewer epochs by default
// (15, batch sizes 10; --full: 30). Within one seed every network starts from the same weights and sees the batches
// in the same order, as the seed's runs share one saved start. Each experiment writes CSV and SVG files into --out.
#include "sample.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace nn = xg::nn;
namespace optim = xg::optim;
namespace data = xg::data;

namespace {

constexpr std::size_t seed_batch_size = 128;  // seeds 000/001's batch size
constexpr std::size_t seed_epochs = 30;       // what the seed's code trains for its rate and batch-size figures

// Numbers ------------------------------------------------------------------------------------------------------------

// "1.1, 1.09, 1.1": each seed's value, as short as it reads.
std::string each(const std::vector<double>& values) { return fmt::format("{:.3g}", fmt::join(values, ", ")); }

// Training ---------------------------------------------------------------------------------------------------------

// Serves a loader's batches without end, epoch after epoch: the range tests need more than one epoch's worth.
class BatchCycle {
public:
    BatchCycle(const data::Dataset& data, std::size_t batch_size, std::uint64_t seed)
        : loader_(data, {.batch_size = batch_size, .shuffle = true, .drop_last = true, .seed = seed}),
          at_(loader_.begin()) {}

    const data::Batch& next() {
        if (!first_) ++at_;  // advance only now: the loader refills the batch it last handed out
        first_ = false;
        if (at_ == loader_.end()) at_ = loader_.begin();
        return *at_;
    }

private:
    data::DataLoader loader_;
    data::DataLoader::Iterator at_;
    bool first_ = true;
};

// How the rate moves during a run: fixed at `lr`, or driven by a schedule made on the optimizer.
struct Schedule {
    std::string label;
    double lr;
    std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)> make = {};
    bool per_batch = false;
};

// Trains seeds 000/001's network from `seed` (its weights and its batch order) on all training images, scoring the
// test set after every epoch.
xg::History train(const sample::Context& c, std::uint64_t seed, const Schedule& schedule, std::size_t batch_size,
                  std::size_t epochs) {
    xg::Generator generator(seed);
    nn::Sequential model = sample::three_layer_network(generator);
    optim::SGD sgd(model.parameters(), {.lr = schedule.lr});
    const std::unique_ptr<optim::LRScheduler> scheduler = schedule.make ? schedule.make(sgd) : nullptr;
    xg::FitOptions options;
    options.epochs = epochs;
    options.loader = {.batch_size = batch_size, .shuffle = true, .seed = seed};
    options.validation = &c.mnist.test;
    options.validation_name = "test";
    options.scheduler = scheduler.get();
    options.scheduler_per_batch = schedule.per_batch;
    options.progress = xg::Progress::none;
    return xg::fit(model, sgd, c.mnist.train, options);
}

std::vector<double> test_accuracy(const xg::History& history) {
    std::vector<double> accuracy;
    for (const xg::EpochRecord& r : history.epochs) accuracy.push_back(r.validation_accuracy);
    return accuracy;
}

// Test accuracy after every epoch: [schedule][seed][epoch].
using Curves = std::vector<std::vector<std::vector<double>>>;

Curves train_all(const sample::Context& c, const std::vector<Schedule>& schedules, std::size_t batch_size,
                 std::size_t epochs) {
    Curves curves(schedules.size());
    for (std::uint64_t seed = 0; seed < c.seeds; ++seed)
        for (std::size_t k = 0; k < schedules.size(); ++k)
            curves[k].push_back(test_accuracy(train(c, seed, schedules[k], batch_size, epochs)));
    return curves;
}

std::vector<double> finals(const std::vector<std::vector<double>>& curves) {
    std::vector<double> last;
    for (const std::vector<double>& curve : curves) last.push_back(curve.back());
    return last;
}

// The schedule whose final accuracy is highest in seed `seed`.
std::size_t best_in(const Curves& curves, std::size_t seed) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < curves.size(); ++k)
        if (curves[k][seed].back() > curves[best][seed].back()) best = k;
    return best;
}

// One line per epoch: the mean accuracy of each schedule over the seeds.
void print_mean_curves(const std::vector<Schedule>& schedules, const Curves& curves) {
    fmt::print("  epoch");
    for (const Schedule& s : schedules) fmt::print("  {:>9}", s.label);
    fmt::print("\n");
    for (std::size_t e = 0; e < curves.front().front().size(); ++e) {
        fmt::print("  {:>5}", e + 1);
        for (std::size_t k = 0; k < schedules.size(); ++k) {
            double sum = 0.0;
            for (const std::vector<double>& curve : curves[k]) sum += curve[e];
            fmt::print("  {:>{}.4f}", sum / static_cast<double>(curves[k].size()),
                       std::max<std::size_t>(9, schedules[k].label.size()));
        }
        fmt::print("\n");
    }
}

// CSV lines "<prefix>schedule,seed,epoch,test_accuracy", one per epoch of every run.
std::string curve_rows(const std::string& prefix, const std::vector<Schedule>& schedules, const Curves& curves) {
    std::string rows;
    for (std::size_t k = 0; k < schedules.size(); ++k)
        for (std::size_t seed = 0; seed < curves[k].size(); ++seed)
            for (std::size_t e = 0; e < curves[k][seed].size(); ++e)
                rows += fmt::format("{}{},{},{},{:.4f}\n", prefix, schedules[k].label, seed, e + 1, curves[k][seed][e]);
    return rows;
}

std::vector<xg::plot::Series> mean_series(const std::vector<Schedule>& schedules, const Curves& curves,
                                          const std::string& prefix) {
    std::vector<xg::plot::Series> series;
    for (std::size_t k = 0; k < schedules.size(); ++k) {
        const std::vector<double> mean = sample::mean_curve(curves[k]);
        series.push_back({prefix + schedules[k].label, sample::one_to(mean.size()), mean});
    }
    return series;
}

// range_test -------------------------------------------------------------------------------------------------------

// Rates from `start` in steps of `step`, `count` of them (each computed from its index, so no error accumulates).
struct Segment {
    double start, step;
    std::size_t count;
};

std::vector<double> rates_of(const std::vector<Segment>& segments) {
    std::vector<double> rates;
    for (const Segment& s : segments)
        for (std::size_t i = 0; i < s.count; ++i) rates.push_back(s.start + static_cast<double>(i) * s.step);
    return rates;
}

// Seed 000's Table 4.
const std::vector<Segment> table4 = {
    {0.0001, 0.0001, 9}, {0.001, 0.001, 9}, {0.01, 0.01, 9}, {0.1, 0.1, 9}, {1.0, 0.01, 11}};
// The steps of the seed's first round (0.1, 0.2, ... 0.9), carried on to 1.5 so that a rise past 0.8 can show.
const std::vector<Segment> tenths = {{0.1, 0.1, 15}};

// A stepped sweep: the loss measured at each rate, in order.
struct Sweep {
    std::vector<double> rates, losses;
};

// The rate of the lowest loss among the sweep's first `count` rates.
double lowest_rate(const Sweep& sweep, std::size_t count) {
    return sweep.rates[std::min_element(sweep.losses.begin(), sweep.losses.begin() + count) - sweep.losses.begin()];
}

// The seed's rule: "a bit below" where the loss is lowest; it steps back from 0.8 to 0.75, a sixteenth.
double seed_rule(double lowest) { return lowest * 0.75 / 0.8; }

// Table 4 on the MNIST network: 10 batches at each rate, training carried on from rate to rate; then on in steps of
// 0.1 past 1.1, as the seed's next round would look further, until the mean loss is back above where it started (or
// the rate reaches 10).
Sweep stepped_sweep(const data::Dataset& train, std::uint64_t seed) {
    xg::Generator generator(seed);
    nn::Sequential model = sample::three_layer_network(generator);
    optim::SGD sgd(model.parameters());
    BatchCycle batches(train, seed_batch_size, seed);
    Sweep sweep;
    const auto train_at = [&](double rate) {
        sgd.set_lr(rate);
        double sum = 0.0;
        for (int i = 0; i < 10; ++i) {
            const data::Batch& batch = batches.next();
            xg::Var loss = xg::softmax_cross_entropy(model(batch.inputs), batch.labels);
            sgd.zero_grad();
            loss.backward();
            sgd.step();
            sum += loss.item();
        }
        sweep.rates.push_back(rate);
        sweep.losses.push_back(sum / 10.0);
    };
    for (double rate : rates_of(table4)) train_at(rate);
    for (int tenth = 12; tenth <= 100 && sweep.losses.back() <= sweep.losses.front(); ++tenth) train_at(tenth / 10.0);
    return sweep;
}

// The same network and batch order with one epoch at each rate, as the seed's code counts its "iterations", and the
// loss of the whole training set after each, as its code measures it.
Sweep epoch_sweep(const data::Dataset& train, std::uint64_t seed) {
    xg::Generator generator(seed);
    nn::Sequential model = sample::three_layer_network(generator);
    optim::SGD sgd(model.parameters());
    data::DataLoader loader(train, {.batch_size = seed_batch_size, .shuffle = true, .seed = seed});
    Sweep sweep;
    for (double rate : rates_of(tenths)) {
        sgd.set_lr(rate);
        for (const data::Batch& batch : loader) {
            xg::Var loss = xg::softmax_cross_entropy(model(batch.inputs), batch.labels);
            sgd.zero_grad();
            loss.backward();
            sgd.step();
        }
        sweep.rates.push_back(rate);
        sweep.losses.push_back(xg::evaluate(model, train).loss);
    }
    return sweep;
}

// Chapter 9's curve y = 0.4x² + 0.3x·sin(15x) + 0.01·cos(50x) − 0.3 with uniform noise of ±0.05 at 1000 points x in
// [0, 1) (the book's data generator; the seed's own data file is not public), y scaled to [0, 1] as the seed's
// NormalizeY does.
data::Dataset chapter9_curve(xg::Generator& generator) {
    constexpr std::size_t n = 1000;
    data::Dataset curve;
    curve.inputs = xt::xarray<float>::from_shape({n, 1});
    curve.targets = xt::xarray<float>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) {
        const double x = generator.uniform();
        curve.inputs(i, 0) = static_cast<float>(x);
        curve.targets(i, 0) = static_cast<float>(0.4 * x * x + 0.3 * x * std::sin(15 * x) + 0.01 * std::cos(50 * x) -
                                                 0.3 + (generator.uniform() - 0.5) / 10);
    }
    const auto [lowest, highest] = std::minmax_element(curve.targets.begin(), curve.targets.end());
    const float low = *lowest, range = *highest - *lowest;
    curve.targets = (curve.targets - low) / range;
    return curve;
}

// The setting of the seed's range-test code (ai-edu's chapter 9 code, Level3_BestLrSeeking.py; an earlier version has
// Table 4's segments): a 1-4-1 sigmoid regression of chapter 9's curve, batches of 10 in file order, loss ½·MSE (its
// gradient (a − y)/m is the seed's), 100 epochs at each rate; the loss is the whole set's after each epoch, averaged
// over the rate's epochs.
Sweep chapter9_sweep(std::uint64_t seed) {
    xg::Generator generator(seed);
    const data::Dataset curve = chapter9_curve(generator);
    nn::Sequential model(nn::Linear(1, 4, generator), nn::Sigmoid(), nn::Linear(4, 1, generator));
    for (auto& [name, parameter] : model.named_parameters()) {
        if (parameter.dim() == 2)
            xg::init::xavier_uniform(parameter, generator);
        else
            xg::init::zeros(parameter);
    }
    optim::SGD sgd(model.parameters());
    data::DataLoader loader(curve, {.batch_size = 10, .shuffle = false});
    const xg::LossFunction half_mse = [](const xg::Var& output, const data::Batch& batch) {
        return 0.5 * xg::mse(output, batch.targets);
    };
    Sweep sweep;
    for (double rate : rates_of(tenths)) {
        sgd.set_lr(rate);
        double sum = 0.0;
        for (int epoch = 0; epoch < 100; ++epoch) {
            for (const data::Batch& batch : loader) {
                xg::Var loss = half_mse(model(batch.inputs), batch);
                sgd.zero_grad();
                loss.backward();
                sgd.step();
            }
            sum += xg::evaluate(model, curve, half_mse).loss;
        }
        sweep.rates.push_back(rate);
        sweep.losses.push_back(sum / 100.0);
    }
    return sweep;
}

// Where each seed's sweep is lowest, and how many are lowest at their last rate (so may still be falling).
std::pair<std::vector<double>, std::size_t> lowest_rates(const std::vector<Sweep>& sweeps) {
    std::vector<double> lowest;
    std::size_t still_falling = 0;
    for (const Sweep& s : sweeps) {
        lowest.push_back(lowest_rate(s, s.rates.size()));
        still_falling += lowest.back() == s.rates.back();
    }
    return {lowest, still_falling};
}

std::string falling_note(std::size_t still_falling, std::size_t seeds) {
    return still_falling == 0 ? "" : fmt::format(" ({} of {} still falling at 1.5)", still_falling, seeds);
}

// Test accuracy after one epoch from the start at `lr`, or NaN when the loss stops being finite (fit then throws).
double first_epoch_accuracy(const sample::Context& c, std::uint64_t seed, double lr) {
    try {
        return train(c, seed, {"", lr}, seed_batch_size, 1).epochs.back().validation_accuracy;
    } catch (const xg::Error&) {
        return NAN;
    }
}

std::string sweep_rows(const std::string& name, const std::vector<Sweep>& sweeps) {
    std::string rows;
    for (std::size_t seed = 0; seed < sweeps.size(); ++seed)
        for (std::size_t i = 0; i < sweeps[seed].rates.size(); ++i)
            rows += fmt::format("{},{},{:.6g},{:.4f},{:.6g}\n", name, seed, sweeps[seed].rates[i],
                                std::log10(sweeps[seed].rates[i]), sweeps[seed].losses[i]);
    return rows;
}

// The seed's curve turns between 0.74 (rising) and 0.8 (lowest in its last round).
bool near_seed(const std::vector<double>& lowest) { return std::abs(sample::spread_of(lowest).mean - 0.77) <= 0.1; }

void range_test(const sample::Context& c) {
    const std::size_t table4_rates = rates_of(table4).size();
    fmt::print("== range_test: seed 000's stepped range test (Table 4) on 784-64-16-10, SGD, batches of {} ==\n"
               "10 batches at each of Table 4's {} rates (0.0001-0.0009, 0.001-0.009, 0.01-0.09, 0.1-0.9, 1.00-1.10), "
               "training carried on from rate to rate,\nthen on in steps of 0.1 until the mean loss is back above its "
               "start\n\n",
               seed_batch_size, table4_rates);
    std::vector<Sweep> sweeps;
    for (std::uint64_t seed = 0; seed < c.seeds; ++seed) sweeps.push_back(stepped_sweep(c.mnist.train, seed));

    // The rows of the seed's figures (from 0.1), then every 0.5; every rate is in the CSV.
    fmt::print("mean loss of the 10 batches at each rate\n   rate   log10");
    for (std::size_t seed = 0; seed < c.seeds; ++seed) fmt::print("  seed {:>2}", seed);
    fmt::print("\n");
    const Sweep& longest = *std::max_element(sweeps.begin(), sweeps.end(), [](const Sweep& a, const Sweep& b) {
        return a.rates.size() < b.rates.size();
    });
    for (std::size_t i = 0; i < longest.rates.size(); ++i) {
        const double rate = longest.rates[i];
        const bool shown = i < table4_rates ? rate >= 0.1 && (rate < 1.0 || std::lround(rate * 100) % 5 == 0)
                                            : std::lround(rate * 10) % 5 == 0;
        if (!shown) continue;
        fmt::print("  {:>5.2f}  {:>6.3f}", rate, std::log10(rate));
        for (const Sweep& s : sweeps)
            fmt::print("{}", i < s.losses.size() ? fmt::format("  {:>7.4f}", s.losses[i]) : std::string(9, ' '));
        fmt::print("{}\n", i + 1 == table4_rates ? "   <- end of Table 4" : "");
    }

    // xg::find_lr on the same network and batches: exponential from Table 4's first rate, over as many batches.
    std::vector<double> suggested, minimum;
    std::string find_csv = "seed,step,lr,loss,smoothed_loss\n";
    std::vector<std::string> find_svgs;
    for (std::uint64_t seed = 0; seed < c.seeds; ++seed) {
        xg::Generator generator(seed);
        nn::Sequential model = sample::three_layer_network(generator);
        optim::SGD sgd(model.parameters());
        BatchCycle batches(c.mnist.train, seed_batch_size, seed);
        const xg::FindLRResult result = xg::find_lr(
            model, sgd,
            [&](std::size_t) {
                const data::Batch& batch = batches.next();
                return xg::softmax_cross_entropy(model(batch.inputs), batch.labels);
            },
            {.min_lr = 0.0001, .max_lr = 10.0, .steps = table4_rates * 10});
        suggested.push_back(result.suggested_lr);
        minimum.push_back(result.min_loss_lr);
        for (std::size_t i = 0; i < result.lrs.size(); ++i)
            find_csv += fmt::format("{},{},{:.6g},{:.4f},{:.4f}\n", seed, i, result.lrs[i], result.losses[i],
                                    result.smoothed_losses[i]);
        find_svgs.push_back(sample::output_file(c.flags, fmt::format("find_lr_seed{}.svg", seed)));
        xg::plot::lr_range_test(result, find_svgs.back());
    }

    std::vector<double> in_table4, lowest, diverged, chosen, chosen_accuracy, seed_choice_accuracy;
    for (std::uint64_t seed = 0; seed < c.seeds; ++seed) {
        const Sweep& s = sweeps[seed];
        in_table4.push_back(lowest_rate(s, table4_rates));
        lowest.push_back(lowest_rate(s, s.rates.size()));
        diverged.push_back(s.rates.back());
        chosen.push_back(seed_rule(lowest.back()));
        chosen_accuracy.push_back(first_epoch_accuracy(c, seed, chosen.back()));
        seed_choice_accuracy.push_back(first_epoch_accuracy(c, seed, 0.75));
    }
    const auto at_end = static_cast<std::size_t>(std::count_if(in_table4.begin(), in_table4.end(), [](double rate) {
        return rate >= 1.05;
    }));
    fmt::print("\n{:<54} {:<38} seed 000\n", "", "ours: each seed; mean [range]");
    fmt::print("{:<54} {:<38} {}\n", "Table 4 alone: lowest at",
               fmt::format("{} ({} of {} in 1.05-1.1)", each(in_table4), at_end, c.seeds), "lowest near 0.8");
    fmt::print("{:<54} {}\n", "carried on in steps of 0.1: lowest at",
               fmt::format("{}; {}", each(lowest), sample::mean_and_range(lowest, 2)));
    fmt::print("{:<54} {:<38} {}\n", "  rises: back above its start (diverged) at", each(diverged),
               "rises from 0.74 (log10 -0.13)");
    fmt::print("{:<54} {:<38} {}\n", "the seed's rule, 1/16 below the lowest (0.8 -> 0.75)",
               fmt::format("{}; {}", each(chosen), sample::mean_and_range(chosen, 2)), "0.75");
    fmt::print("{:<54} {:<38} {}\n", "  test accuracy after one epoch from the start at it",
               fmt::format("{:.4f}", fmt::join(chosen_accuracy, ", ")),
               fmt::format("at 0.75: {:.4f}", fmt::join(seed_choice_accuracy, ", ")));
    fmt::print("{:<54} {:<38} {}\n",
               fmt::format("xg::find_lr (0.0001->10, {} batches): suggested_lr", table4_rates * 10),
               fmt::format("{}; {}", each(suggested), sample::mean_and_range(suggested, 2)), "picks 0.75");
    fmt::print("{:<54} {:<38} {}\n", "  min_loss_lr (lowest smoothed loss)",
               fmt::format("{}; {}", each(minimum), sample::mean_and_range(minimum, 2)), "lowest near 0.8");
    const bool trains = std::all_of(chosen_accuracy.begin(), chosen_accuracy.end(),
                                    [&](double a) { return a >= sample::spread_of(seed_choice_accuracy).min; });
    fmt::print("so {}; the rule's rate, which a network warmed up by the lower rates survives, {} from the start\n",
               at_end == c.seeds ? "Table 4 ends while the loss still falls" : "the loss turns within Table 4",
               trains ? "trains one as well as 0.75 does" : "does not train one");

    // Why ours differs: the unit of the seed's code (an epoch per rate), then the network of its code.
    std::vector<Sweep> by_epoch, chapter9;
    for (std::uint64_t seed = 0; seed < c.seeds; ++seed) {
        by_epoch.push_back(epoch_sweep(c.mnist.train, seed));
        chapter9.push_back(chapter9_sweep(seed));
    }
    const auto [epoch_lowest, epoch_falling] = lowest_rates(by_epoch);
    const auto [chapter9_lowest, chapter9_falling] = lowest_rates(chapter9);
    std::vector<double> chapter9_chosen;
    for (double rate : chapter9_lowest) chapter9_chosen.push_back(seed_rule(rate));
    const bool unit_explains = epoch_falling == 0 && near_seed(epoch_lowest);
    const bool network_explains = chapter9_falling == 0 && near_seed(chapter9_lowest);
    fmt::print("\nwhy ours differs from the seed's 0.74 / 0.8 / 0.75, each measured at 0.1, 0.2, ... 1.5:\n"
               "  one epoch at each rate (the seed's code counts epochs, not batches), the whole training set's loss "
               "after it:\n    lowest at {}{} -> the unit {} explain it\n",
               each(epoch_lowest), falling_note(epoch_falling, c.seeds), unit_explains ? "would" : "does not");
    fmt::print(
        "  the setting of the seed's code, a 1-4-1 sigmoid regression of chapter 9's curve (batches of 10, 100 "
        "epochs a rate):\n    lowest at {}{}, rule {} -> {} the seed's\n",
        each(chapter9_lowest), falling_note(chapter9_falling, c.seeds), sample::mean_and_range(chapter9_chosen, 2),
        network_explains ? "near" : "not near");
    if (network_explains && !unit_explains)
        fmt::print("  so the seed's numbers belong to its small regression network; on MNIST the stepped test "
                   "mostly measures how far training has got\n");

    const std::string csv = sample::save(c.flags, "range_test.csv",
                                 "sweep,seed,lr,log10_lr,loss\n" + sweep_rows("table4", sweeps) +
                                     sweep_rows("epoch_per_rate", by_epoch) +
                                     sweep_rows("chapter9_regression", chapter9));
    const std::string find_file = sample::save(c.flags, "find_lr.csv", find_csv);

    // The curves against log10(lr) as the seed draws them, without the last (diverged) point of each.
    std::vector<xg::plot::Series> lines;
    double high = 0.0;
    for (std::size_t seed = 0; seed < sweeps.size(); ++seed) {
        xg::plot::Series line{fmt::format("seed {}", seed), {}, {}};
        for (std::size_t i = 0; i + 1 < sweeps[seed].rates.size(); ++i) {
            line.x.push_back(std::log10(sweeps[seed].rates[i]));
            line.y.push_back(sweeps[seed].losses[i]);
            high = std::max(high, sweeps[seed].losses[i]);
        }
        lines.push_back(line);
    }
    const auto marker = [&](const std::string& label, double rate) {
        lines.push_back({fmt::format("{} ({:.3g})", label, rate), {std::log10(rate), std::log10(rate)}, {0.0, high}});
    };
    marker("end of Table 4", rates_of(table4).back());
    marker("seed 000's choice", 0.75);
    marker("the seed's rule on ours", sample::spread_of(chosen).mean);
    const std::string svg = sample::output_file(c.flags, "range_test.svg");
    xg::plot::line_chart(lines, svg,
                         {"Table 4 stepped range test, 784-64-16-10 on MNIST", "log10(learning rate)",
                          "mean loss of 10 batches"});

    std::vector<xg::plot::Series> regression;
    for (std::size_t seed = 0; seed < chapter9.size(); ++seed) {
        xg::plot::Series line{fmt::format("seed {}", seed), {}, chapter9[seed].losses};
        for (double rate : chapter9[seed].rates) line.x.push_back(std::log10(rate));
        regression.push_back(line);
    }
    const std::string regression_svg = sample::output_file(c.flags, "range_test_chapter9.svg");
    xg::plot::line_chart(regression, regression_svg,
                         {"the seed code's setting: 1-4-1 regression, 100 epochs a rate", "log10(learning rate)",
                          "mean loss (1/2 MSE)"});
    fmt::print("wrote {}, {}, {}, {} and {}\n", csv, svg, regression_svg, find_file, fmt::join(find_svgs, ", "));
}

// rates ------------------------------------------------------------------------------------------------------------

// The epoch (from 1) from which curve `a` stays above curve `b` to the end, or 0 when it is not above at the end.
std::size_t ahead_from(const std::vector<double>& a, const std::vector<double>& b) {
    std::size_t from = a.size();
    while (from > 0 && a[from - 1] > b[from - 1]) --from;
    return from == a.size() ? 0 : from + 1;
}

std::string epoch_or_never(std::size_t epoch) { return epoch == 0 ? "never" : fmt::format("epoch {}", epoch); }

void compare_rates(const sample::Context& c) {
    const std::size_t epochs = c.full ? seed_epochs : 15;
    const std::vector<Schedule> schedules = {{"0.2", 0.2}, {"0.3", 0.3}, {"0.5", 0.5}, {"0.8", 0.8}};
    fmt::print("== rates: seed 000's lr 0.2, 0.3, 0.5, 0.8 at batch {}, {} epochs ({}) ==\n", seed_batch_size, epochs,
               c.full ? "the seed code's setting" : "the seed's code trains 30: --full");
    const Curves curves = train_all(c, schedules, seed_batch_size, epochs);
    fmt::print("test accuracy after each epoch (mean of {} seeds)\n", c.seeds);
    print_mean_curves(schedules, curves);

    fmt::print("\nfinal test accuracy (mean [range] over seeds):\n");
    for (std::size_t k = 0; k < schedules.size(); ++k)
        fmt::print("  lr {:<4} {}\n", schedules[k].label, sample::mean_and_range(finals(curves[k])));
    std::vector<std::string> best;
    std::size_t half_best = 0;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) {
        best.push_back(schedules[best_in(curves, seed)].label);
        half_best += best.back() == "0.5";
    }
    fmt::print("ends best, each seed: {}   seed 000: 0.5 ends best -> {}\n", fmt::join(best, ", "),
               sample::verdict(half_best, c.seeds));

    // 0.5 against 0.8: who leads after the first epoch, and from which epoch on 0.5 stays ahead to the end.
    const std::vector<std::vector<double>>& half = curves[2];
    const std::vector<std::vector<double>>& high = curves[3];
    std::size_t fast_start = 0, by_ten = 0;
    std::vector<std::string> overtakes;
    std::vector<double> gaps;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) {
        fast_start += high[seed][0] > half[seed][0];
        const std::size_t from = ahead_from(half[seed], high[seed]);
        overtakes.push_back(epoch_or_never(from));
        by_ten += from != 0 && from <= 10;
        gaps.push_back(half[seed].back() - high[seed].back());
    }
    fmt::print("0.8 ahead of 0.5 after epoch 1: {} of {} seeds   seed 000: 0.8 rises faster at first -> {}\n",
               fast_start, c.seeds, sample::verdict(fast_start, c.seeds));
    fmt::print(
        "0.5 ahead of 0.8 from then to the end: {} (mean curves: {})   seed 000: by epoch 10, then stays above "
        "-> {}\n",
        fmt::join(overtakes, ", "), epoch_or_never(ahead_from(sample::mean_curve(half), sample::mean_curve(high))),
        sample::verdict(by_ten, c.seeds));

    // Why the order of 0.5 and 0.8 can differ from the seed's: compare their gap with the noise of one accuracy.
    double spread = 0.0;
    for (const auto& runs : curves) {
        const sample::Spread s = sample::spread_of(finals(runs));
        spread = std::max(spread, s.max - s.min);
    }
    const double p = sample::spread_of(finals(half)).mean;
    const double standard_error = std::sqrt(p * (1 - p) / 5000);  // of an accuracy on the seed's 5000 images
    fmt::print("final gap 0.5 - 0.8: {}, against up to {:.4f} between seeds at one rate and a standard error of "
               "{:.4f} for one accuracy on the seed's 5000 validation images: {}\n",
               sample::mean_and_range(gaps), spread, standard_error,
               std::abs(sample::spread_of(gaps).mean) < std::max(spread, standard_error)
                   ? "the two end level, and one run (the seed's) cannot order them"
                   : "a real difference");

    const std::string csv =
        sample::save(c.flags, "rates.csv", "lr,seed,epoch,test_accuracy\n" + curve_rows("", schedules, curves));
    const std::string svg = sample::output_file(c.flags, "rates.svg");
    xg::plot::line_chart(mean_series(schedules, curves, "lr "), svg,
                         {fmt::format("batch {}: test accuracy (mean of {} seeds)", seed_batch_size, c.seeds), "epoch",
                          "test accuracy"});
    fmt::print("wrote {} and {}\n", csv, svg);
}

// batch_size -------------------------------------------------------------------------------------------------------

// Where accuracy peaks along evenly spaced rates: the vertex of the parabola through the best rate and its two
// neighbours, since four rates are a coarse grid; the best rate itself at either end of the grid.
double peak_rate(const std::vector<double>& rates, const std::vector<double>& accuracy) {
    const auto best = static_cast<std::size_t>(std::max_element(accuracy.begin(), accuracy.end()) - accuracy.begin());
    if (best == 0 || best + 1 == rates.size()) return rates[best];
    const double left = accuracy[best - 1], middle = accuracy[best], right = accuracy[best + 1];
    const double curvature = left - 2 * middle + right;
    if (curvature == 0.0) return rates[best];
    return rates[best] + (rates[best + 1] - rates[best]) * (left - right) / (2 * curvature);
}

void compare_batch_sizes(const sample::Context& c) {
    const std::size_t epochs = c.full ? seed_epochs : 10;
    const std::vector<std::size_t> batch_sizes = {16, 32};
    // The rates the seed's code compares at batch 32 (ai-edu ch12 Level4_LR_BS.py).
    const std::vector<Schedule> schedules = {{"0.1", 0.1}, {"0.3", 0.3}, {"0.5", 0.5}, {"0.7", 0.7}};
    std::vector<double> rates;
    for (const Schedule& s : schedules) rates.push_back(s.lr);
    fmt::print("== batch_size: seed 001's batches of 16 and 32 at lr 0.1, 0.3, 0.5, 0.7, {} epochs ({}) ==\n", epochs,
               c.full ? "the seed code's setting" : "the seed's code trains 30: --full");
    std::vector<Curves> curves;
    std::vector<std::string> files;
    std::string csv = "batch_size,lr,seed,epoch,test_accuracy\n";
    for (std::size_t batch_size : batch_sizes) {
        curves.push_back(train_all(c, schedules, batch_size, epochs));
        fmt::print("batch {}: test accuracy after each epoch (mean of {} seeds)\n", batch_size, c.seeds);
        print_mean_curves(schedules, curves.back());
        csv += curve_rows(fmt::format("{},", batch_size), schedules, curves.back());
        files.push_back(sample::output_file(c.flags, fmt::format("batch_size_{}.svg", batch_size)));
        xg::plot::line_chart(mean_series(schedules, curves.back(), "lr "), files.back(),
                             {fmt::format("batch {}: test accuracy (mean of {} seeds)", batch_size, c.seeds), "epoch",
                              "test accuracy"});
    }

    fmt::print("\nfinal test accuracy (mean [range] over seeds):\n   lr    ");
    for (std::size_t batch_size : batch_sizes) fmt::print("  batch {:<21}", batch_size);
    fmt::print("\n");
    // In percent: PLplot labels a narrow range of fractions as 9.74 ×10⁻¹.
    std::vector<xg::plot::Series> by_rate;
    std::vector<double> best_by_mean(batch_sizes.size()), best_mean(batch_sizes.size(), 0.0);
    for (std::size_t b = 0; b < batch_sizes.size(); ++b)
        by_rate.push_back({fmt::format("batch {}", batch_sizes[b]), {}, {}});
    for (std::size_t k = 0; k < schedules.size(); ++k) {
        fmt::print("  {:<6}", schedules[k].label);
        for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
            const double mean = sample::spread_of(finals(curves[b][k])).mean;
            fmt::print("  {:<27}", sample::mean_and_range(finals(curves[b][k])));
            by_rate[b].x.push_back(rates[k]);
            by_rate[b].y.push_back(100 * mean);
            if (mean > best_mean[b]) {
                best_mean[b] = mean;
                best_by_mean[b] = rates[k];
            }
        }
        fmt::print("\n");
    }
    std::vector<std::vector<double>> peaks(batch_sizes.size());
    std::vector<std::string> picks;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) {
        for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
            std::vector<double> accuracy;
            for (const auto& runs : curves[b]) accuracy.push_back(runs[seed].back());
            peaks[b].push_back(peak_rate(rates, accuracy));
        }
        picks.push_back(fmt::format("{} / {}", rates[best_in(curves[0], seed)], rates[best_in(curves[1], seed)]));
    }
    std::size_t agreeing = 0;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) agreeing += peaks[1][seed] > peaks[0][seed];
    fmt::print("best rate of the four at batch 16 / 32: {} / {} by the mean over seeds; each seed: {}\n",
               best_by_mean[0], best_by_mean[1], fmt::join(picks, ", "));
    fmt::print("where accuracy peaks between them (parabola through the best and its neighbours): batch 16 {}, "
               "batch 32 {}\n",
               sample::mean_and_range(peaks[0], 2), sample::mean_and_range(peaks[1], 2));
    fmt::print("peak higher at batch 32 in {} of {} seeds   seed 001: a larger rate goes with a larger batch -> {}\n",
               agreeing, c.seeds, sample::verdict(agreeing, c.seeds));
    fmt::print("  (the chapter seed 001 summarizes, ai-edu 12.3, finds 0.5 best at batch 32 and 0.1 best at batch 16, "
               "after 30 epochs)\n");

    files.push_back(sample::output_file(c.flags, "batch_size.svg"));
    xg::plot::line_chart(by_rate, files.back(),
                         {fmt::format("final test accuracy after {} epochs (mean of {} seeds)", epochs, c.seeds),
                          "learning rate", "test accuracy (%)"});
    fmt::print("wrote {} and {}\n", sample::save(c.flags, "batch_size.csv", csv), fmt::join(files, ", "));
}

// decay ------------------------------------------------------------------------------------------------------------

// Ng's α₀ / (1 + decay·epoch): from seed 000's fast-starting 0.8, with decay 0.1 it passes the seed's best fixed rate
// 0.5 at epoch 6 and halves by epoch 10, where the seed sees 0.5 overtake 0.8.
constexpr double alpha0 = 0.8, decay_rate = 0.1;

// How much the test accuracy moves from epoch to epoch over the last five: the oscillation decay should damp.
double wobble(const std::vector<double>& curve) {
    const std::size_t from = curve.size() > 5 ? curve.size() - 5 : 1;
    double sum = 0.0;
    for (std::size_t e = from; e < curve.size(); ++e) sum += std::abs(curve[e] - curve[e - 1]);
    return sum / static_cast<double>(curve.size() - from);
}

void compare_decay(const sample::Context& c) {
    const std::size_t epochs = c.full ? seed_epochs : 15;
    const std::vector<Schedule> schedules = {
        {"fixed 0.1", 0.1},
        {"step 0.1*0.9^(t/50)", 0.1,
         [](optim::Optimizer& o) { return std::make_unique<optim::StepLR>(o, 50, 0.9); }, true},
        {"fixed 0.5", 0.5},
        {"Ng 0.8/(1+0.1*epoch)", alpha0,
         [](optim::Optimizer& o) {
             auto schedule = std::make_unique<optim::InverseTimeLR>(o, decay_rate);
             schedule->step();  // Ng counts epochs from 1: the first epoch already trains at α₀ / (1 + decay)
             return schedule;
         }},
    };
    fmt::print("== decay: seed 000's step decay and seed 004's (Ng's) inverse-time decay, batch {}, {} epochs "
               "({}) ==\n",
               seed_batch_size, epochs, c.full ? "as long as the seed's rate comparison" : "--full: 30");

    // The seed's table, from the schedule the runs use. t counts iterations: the table's header is 迭代 (iteration)
    // and its formula's GlobalStep counts batches.
    const xg::Var weight(0.0, true);
    optim::SGD sgd({weight}, {.lr = 0.1});
    const optim::StepLR step(sgd, 50, 0.9);
    const std::vector<double> seed_table = {0.1, 0.09, 0.081, 0.073, 0.065, 0.059, 0.053};
    fmt::print("step decay lr = 0.1·0.9^⌊t/50⌋, t counting mini-batches (the seed's table heads t with 迭代, "
               "iteration):\n   t      ours        seed 000\n");
    for (std::size_t i = 0; i < seed_table.size(); ++i) {
        const double lr = step.lr_at(50 * i);
        fmt::print("  {:>3}  {:<10.7g}  {}{}\n", 50 * i, lr, seed_table[i],
                   std::abs(std::round(lr * 1000) / 1000 - seed_table[i]) > 1e-9
                       ? fmt::format("  (rounds to {:.3f}; the seed cut it short)", lr)
                       : "");
    }
    const std::size_t batches = (c.mnist.train.size() + seed_batch_size - 1) / seed_batch_size;
    fmt::print("at {} batches an epoch the step rate is {:.3g} after epoch 1, {:.2g} after epoch 5 and {:.1e} at the "
               "end (read per epoch, ⌊epoch/50⌋ would not move it for 50 epochs)\n",
               batches, step.lr_at(batches), step.lr_at(5 * batches), step.lr_at(epochs * batches));
    fmt::print("Ng: lr = {} / (1 + {}·epoch), epochs from 1: {:.3f}, {:.3f}, {:.3f} ... {:.3f} at epoch 10, {:.3f} at "
               "epoch {}\n\n",
               alpha0, decay_rate, alpha0 / (1 + decay_rate), alpha0 / (1 + 2 * decay_rate),
               alpha0 / (1 + 3 * decay_rate), alpha0 / (1 + 10 * decay_rate),
               alpha0 / (1 + decay_rate * static_cast<double>(epochs)), epochs);

    const Curves curves = train_all(c, schedules, seed_batch_size, epochs);
    fmt::print("test accuracy after each epoch (mean of {} seeds)\n", c.seeds);
    print_mean_curves(schedules, curves);
    fmt::print("\nfinal test accuracy (mean [range] over seeds):\n");
    for (std::size_t k = 0; k < schedules.size(); ++k)
        fmt::print("  {:<21} {}\n", schedules[k].label, sample::mean_and_range(finals(curves[k])));

    const auto wins = [&](std::size_t a, std::size_t b) {
        std::size_t count = 0;
        for (std::size_t seed = 0; seed < c.seeds; ++seed) count += curves[a][seed].back() > curves[b][seed].back();
        return count;
    };
    fmt::print("step decay above fixed 0.1 at the end: {} of {} seeds   seed 000: start larger, go smaller later -> "
               "{}\n",
               wins(1, 0), c.seeds, sample::verdict(wins(1, 0), c.seeds));
    // Why the step schedule loses: the epoch from which its accuracy no longer moves, and its rate by then.
    const std::vector<double> stepped = sample::mean_curve(curves[1]);
    std::size_t still = stepped.size();
    while (still > 1 && std::abs(stepped[still - 1] - stepped[still - 2]) < 0.0005) --still;
    if (still < stepped.size())
        fmt::print("  why: from epoch {} on its accuracy moves by less than 0.0005 an epoch, its rate {:.1e} by then: "
                   "the seed's 50 steps make {:.1f} decays an epoch here\n",
                   still + 1, step.lr_at(still * batches), static_cast<double>(batches) / 50);
    fmt::print("Ng from 0.8 above fixed 0.5 at the end: {} of {} seeds   seed 000: start larger, go smaller later -> "
               "{}\n",
               wins(3, 2), c.seeds, sample::verdict(wins(3, 2), c.seeds));
    std::vector<double> fixed_wobble, ng_wobble;
    std::size_t calmer = 0;
    for (std::size_t seed = 0; seed < c.seeds; ++seed) {
        fixed_wobble.push_back(wobble(curves[2][seed]));
        ng_wobble.push_back(wobble(curves[3][seed]));
        calmer += ng_wobble.back() < fixed_wobble.back();
    }
    fmt::print(
        "accuracy change per epoch over the last 5: Ng {}, fixed 0.5 {}; Ng calmer in {} of {} seeds   "
        "seed 004: decay damps the oscillation near the minimum -> {}\n",
        sample::mean_and_range(ng_wobble), sample::mean_and_range(fixed_wobble), calmer, c.seeds,
        sample::verdict(calmer, c.seeds));

    const std::string csv =
        sample::save(c.flags, "decay.csv", "schedule,seed,epoch,test_accuracy\n" + curve_rows("", schedules, curves));
    const std::string svg = sample::output_file(c.flags, "decay.svg");
    xg::plot::line_chart(mean_series(schedules, curves, ""), svg,
                         {fmt::format("batch {}: test accuracy (mean of {} seeds)", seed_batch_size, c.seeds), "epoch",
                          "test accuracy"});
    fmt::print("wrote {} and {}\n", csv, svg);
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.data_dir = sample::default_mnist_directory();
    flags.out = "out/learning_rates";
    std::string experiment = "all";
    std::size_t seeds = 3;
    bool full = false;
    const std::vector<sample::Experiment> experiments = {
        {"range_test", range_test},
        {"rates", compare_rates},
        {"batch_size", compare_batch_sizes},
        {"decay", compare_decay},
    };
    CLI::App app("Seeds 000/001/004 on learning rates: the stepped range test and find_lr, rates and batch sizes, "
                 "step and inverse-time decay, on MNIST's 784-64-16-10 network");
    sample::add_experiment_flags(app, experiment, experiments, seeds, full,
                                 "the seed code's 30 epochs where the default trains fewer (rates, batch_size, decay)");
    sample::add_threads_flag(app, flags);
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    const data::Split mnist = sample::load_mnist(flags.data_dir);
    fmt::print("MNIST: {} training and {} test images from {}; {} seed(s); {}\n\n", mnist.train.size(),
               mnist.test.size(), flags.data_dir, seeds, full ? "full setting" : "default setting");
    const sample::Context context{mnist, flags, seeds, full};
    sample::run_experiments(experiment, experiments, context);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
