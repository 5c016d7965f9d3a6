#pragma once
// What the samples share: their command-line flags (CLI11) and where their files go. Not part of the library.
#include <xgrad/xgrad.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sample {

/// Training settings every training sample takes as flags; each sample sets its own defaults.
struct Flags {
    std::size_t epochs = 10;
    std::size_t batch_size = 100;
    double lr = 0.1;
    std::uint64_t seed = 0;
    int threads = 1;
    std::string data_dir;
    std::string out = "out";
};

/// Runs a sample's `run(argc, argv)` and turns anything it throws into one line `error: <what>` on stderr and
/// exit status 1, instead of std::terminate's abort.
inline int guarded(int (*run)(int, char**), int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fflush(stdout);  // what the run printed comes before the error, also when both go to one pipe
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}

/// Accepts finite numbers. CLI11 alone reads "inf" and "nan" as numbers.
inline CLI::Validator finite() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double value = 0.0;
            if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
            return std::isfinite(value) ? "" : "must be a finite number, got " + text;
        },
        "FINITE");
}

/// Accepts finite numbers above zero, and says what was wrong otherwise.
inline CLI::Validator positive() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double value = 0.0;
            if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
            if (!std::isfinite(value)) return "must be a finite number, got " + text;
            return value > 0.0 ? "" : "must be positive, got " + text;
        },
        "POSITIVE");
}

/// Accepts whole numbers written in decimal digits from `lowest` to `highest`. CLI11 alone reads "-1" as 2^64 − 1
/// and a number too large for std::uint64_t as the largest one.
inline CLI::Validator whole_number(std::uint64_t lowest,
                                   std::uint64_t highest = std::numeric_limits<std::uint64_t>::max()) {
    return CLI::Validator(
        [lowest, highest](std::string& text) -> std::string {
            std::uint64_t value = 0;
            const char* end = text.data() + text.size();
            const auto [stop, error] = std::from_chars(text.data(), end, value);
            if (error != std::errc() || stop != end || value > highest)
                return fmt::format("must be a whole number from {} to {}, got {}", lowest, highest, text);
            return value >= lowest ? "" : fmt::format("must be at least {}, got {}", lowest, text);
        },
        lowest == 0 ? "" : lowest == 1 ? "POSITIVE" : fmt::format("AT LEAST {}", lowest));
}

/// --threads: how many threads training runs on (xg::set_num_threads). One by default, so that a sample prints the
/// same digits on any machine (docs/experiments.md lists them); with more, fit splits each batch across them, which
/// is faster and changes the last digits.
inline void add_threads_flag(CLI::App& app, Flags& flags) {
    app.add_option("--threads", flags.threads,
                   "threads to train on; 1 reproduces the documented figures digit for digit, more are faster")
        ->check(whole_number(1, 1024))
        ->capture_default_str();
}

inline void add_training_flags(CLI::App& app, Flags& flags) {
    app.add_option("--epochs", flags.epochs, "passes over the training set")
        ->check(whole_number(1))
        ->capture_default_str();
    app.add_option("--batch-size", flags.batch_size, "rows per mini-batch")
        ->check(whole_number(1))
        ->capture_default_str();
    app.add_option("--lr", flags.lr, "learning rate")->check(positive())->capture_default_str();
    app.add_option("--seed", flags.seed, "seed of every random choice (init, shuffling, splits)")
        ->check(whole_number(0))
        ->capture_default_str();
    add_threads_flag(app, flags);
}

/// Creates the output directory and checks that files can be created in it, so that a bad --out fails before any
/// data loads or training starts; the message names the directory and the system's reason.
inline void prepare_output(const Flags& flags) {
    std::error_code error;
    std::filesystem::create_directories(flags.out, error);
    if (error)
        throw std::runtime_error(fmt::format("--out {}: cannot create the directory ({})", flags.out, error.message()));
    const std::filesystem::path probe = std::filesystem::path(flags.out) / fmt::format(".write_probe_{}", getpid());
    std::FILE* file = std::fopen(probe.c_str(), "wx");
    if (file == nullptr) {
        const int reason = errno;
        throw std::runtime_error(fmt::format("--out {}: cannot create files in it ({})", flags.out,
                                             std::generic_category().message(reason)));
    }
    std::fclose(file);
    std::filesystem::remove(probe);
}

/// --out, whose directory prepare_output readies as soon as the flags are parsed and valid.
inline void add_out_flag(CLI::App& app, Flags& flags) {
    app.add_option("--out", flags.out, "directory for the CSV and SVG files the run writes")->capture_default_str();
    app.final_callback([&flags] { prepare_output(flags); });
}

inline void add_data_flag(CLI::App& app, Flags& flags, const std::string& what) {
    app.add_option("--data-dir", flags.data_dir, "directory holding " + what)->capture_default_str();
}

/// `name` inside the output directory, which is created if needed.
inline std::string output_file(const Flags& flags, const std::string& name) {
    std::filesystem::create_directories(flags.out);
    return (std::filesystem::path(flags.out) / name).string();
}

/// MNIST's directory unless --data-dir says otherwise: where scripts/fetch_mnist.sh puts it.
inline std::string default_mnist_directory() {
    try {
        return xg::data::cache_directory() + "/mnist";
    } catch (const xg::DataError&) {
        return "mnist";
    }
}

/// Loads MNIST-format files; when they are missing or bad, the DataError also says what to run.
inline xg::data::Split load_mnist(
    const std::string& directory,
    const std::string& how_to_get = "fetch MNIST with: scripts/fetch_mnist.sh (or pass --data-dir DIR)") {
    try {
        return xg::data::load_mnist(directory);
    } catch (const xg::DataError& e) {
        throw xg::DataError(fmt::format("{}; {}", e.what(), how_to_get));
    }
}

/// Seeds 000/001's three-layer network: 784-64-16-10 with a sigmoid and a tanh hidden layer (the softmax is in the
/// loss), weights Xavier-uniform and biases zero.
inline xg::nn::Sequential three_layer_network(xg::Generator& generator) {
    namespace nn = xg::nn;
    nn::Sequential model(nn::Linear(784, 64, generator), nn::Sigmoid(), nn::Linear(64, 16, generator), nn::Tanh(),
                         nn::Linear(16, 10, generator));
    for (auto& [name, parameter] : model.named_parameters()) {
        if (parameter.dim() == 2)
            xg::init::xavier_uniform(parameter, generator);
        else
            xg::init::zeros(parameter);
    }
    return model;
}

/// Seed 003's TwoLayerNet: Affine(784→50) → ReLU → Affine(50→10), weights 0.01·N(0, 1) and biases zero.
inline xg::nn::Sequential two_layer_network(xg::Generator& generator) {
    namespace nn = xg::nn;
    nn::Sequential model(nn::Linear(784, 50, generator), nn::ReLU(), nn::Linear(50, 10, generator));
    for (auto& [name, parameter] : model.named_parameters()) {
        if (parameter.dim() == 2)
            xg::init::normal(parameter, generator, 0.0, 0.01);
        else
            xg::init::zeros(parameter);
    }
    return model;
}

/// The run's train and test accuracy per epoch beside seed 003's (SGD, lr 0.09, batches of 100), a note on an
/// interrupted epoch, and the final test accuracy with the epoch that first reached 97%.
inline void print_beside_seed_003(const xg::History& history, std::size_t batches_per_epoch) {
    const std::vector<std::pair<double, double>> seed = {
        {0.90255, 0.9061}, {0.92135, 0.9254}, {0.93227, 0.9325}, {0.94317, 0.9428}, {0.9504, 0.948},
        {0.95532, 0.9518}, {0.96028, 0.9558}, {0.9635, 0.9581},  {0.96563, 0.9597}, {0.9693, 0.9627},
        {0.9709, 0.9645},  {0.97297, 0.9662}, {0.9754, 0.9684},  {0.97587, 0.969},  {0.97755, 0.9701},
        {0.9789, 0.9706}};
    fmt::print("\nepoch   train acc (seed 003)   test acc (seed 003)\n");
    std::size_t first_97 = 0;
    for (const xg::EpochRecord& r : history.epochs) {
        if (!first_97 && r.validation_accuracy >= 0.97) first_97 = r.epoch;
        const bool has_seed = r.epoch <= seed.size();
        fmt::print("{:>5}   {:.4f} ({})        {:.4f} ({})\n", r.epoch, r.train_accuracy,
                   has_seed ? fmt::format("{:.4f}", seed[r.epoch - 1].first) : "  -   ", r.validation_accuracy,
                   has_seed ? fmt::format("{:.4f}", seed[r.epoch - 1].second) : "  -   ");
    }
    if (history.epochs.empty()) return;
    if (history.interrupted)
        fmt::print("(epoch {} was interrupted after {} of its {} batches; its row measures the model it left)\n",
                   history.epochs.back().epoch, history.epochs.back().batches, batches_per_epoch);
    fmt::print("\nfinal test accuracy {:.4f}; ", history.epochs.back().validation_accuracy);
    if (first_97)
        fmt::print("97% first reached at epoch {}\n", first_97);
    else
        fmt::print("97% not reached\n");
}

/// The book's MultiLayerNet: `hidden_layers` × (Linear → ReLU [→ Dropout]) → Linear(100 → 10) on 784 inputs,
/// weights He-normal (std √(2 / fan_in), the book's weight_init_std='relu') and biases zero. With `book_dropout`,
/// dropout is the book's form (x·mask in training, x·(1 − p) in evaluation) instead of the inverted one. Every
/// weight is drawn before any dropout stream is forked, so the same generator state gives the same starting
/// weights with or without dropout.
inline xg::nn::Sequential relu_network(std::size_t hidden_layers, xg::Generator& generator, double dropout = 0.0,
                                       bool book_dropout = false) {
    namespace nn = xg::nn;
    std::vector<nn::Linear> layers;
    for (std::size_t i = 0; i <= hidden_layers; ++i) {
        nn::Linear layer(i == 0 ? 784 : 100, i == hidden_layers ? 10 : 100, generator);
        xg::init::kaiming_normal(layer.weight, generator);
        xg::init::zeros(layer.bias);
        layers.push_back(layer);
    }
    nn::Sequential model;
    for (std::size_t i = 0; i < hidden_layers; ++i) {
        model.push_back(layers[i]);
        model.push_back(nn::ReLU());
        if (dropout > 0.0) {
            model.push_back(nn::Dropout(dropout, generator));
            // Inverted dropout scales by 1/(1 − p) in training; scaling by (1 − p) always undoes that there and
            // gives the book's x·(1 − p) in evaluation.
            if (book_dropout)
                model.push_back(nn::Functional([dropout](const xg::Var& x) { return x * (1.0 - dropout); },
                                               fmt::format("Scale({})", 1.0 - dropout)));
        }
    }
    model.push_back(layers.back());
    return model;
}

/// Seed 004 §1.2 read as Ng reads it: bias is how far the training error sits above the base error, variance how
/// far the dev error sits above the training error; each is high when more than `tolerance` (errors and tolerance
/// in the same unit, e.g. percentage points).
inline std::string diagnose_bias_variance(double train_error, double dev_error, double base_error, double tolerance) {
    const bool high_bias = train_error - base_error > tolerance;
    const bool high_variance = dev_error - train_error > tolerance;
    if (high_bias && high_variance) return "high bias & high variance";
    if (high_bias) return "high bias";
    if (high_variance) return "high variance";
    return "low bias, low variance";
}

/// A figure measured over several seeds.
struct Spread {
    double mean, min, max;
};

inline Spread spread_of(const std::vector<double>& values) {
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    return {std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size()), *low, *high};
}

/// "0.9612 [0.9601–0.9620]": the mean over seeds and its range, or the single value of one seed.
inline std::string mean_and_range(const std::vector<double>& values, int decimals = 4) {
    const Spread s = spread_of(values);
    if (values.size() == 1) return fmt::format("{:.{}f}", s.mean, decimals);
    return fmt::format("{:.{}f} [{:.{}f}–{:.{}f}]", s.mean, decimals, s.min, decimals, s.max, decimals);
}

/// The pointwise mean of equally long curves (one per seed).
inline std::vector<double> mean_curve(const std::vector<std::vector<double>>& curves) {
    std::vector<double> mean(curves.front().size(), 0.0);
    for (const std::vector<double>& curve : curves)
        for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += curve[i] / static_cast<double>(curves.size());
    return mean;
}

/// 1, 2, …, n: the epochs of an n-epoch curve.
inline std::vector<double> one_to(std::size_t n) {
    std::vector<double> x(n);
    std::iota(x.begin(), x.end(), 1.0);
    return x;
}

/// How a claim fared over the runs of several seeds.
inline std::string verdict(std::size_t agreeing, std::size_t runs) {
    return agreeing == runs ? "agrees" : agreeing == 0 ? "disagrees" : "agrees only partly";
}

/// Writes `text` as the file `name` in the output directory and returns its path.
inline std::string save(const Flags& flags, const std::string& name, const std::string& text) {
    const std::string path = output_file(flags, name);
    xg::write_file(path, text);
    return path;
}

/// What every experiment of a sample with several (learning_rates, learning_techniques) gets.
struct Context {
    const xg::data::Split& mnist;
    const Flags& flags;
    std::size_t seeds;  // runs of every setting, from seeds 0, 1, ...
    bool full;          // the seeds' full setting where the default is shorter
};

using Experiment = std::pair<std::string, void (*)(const Context&)>;

/// --experiment (the name of one of `experiments`, or "all", the default), --seeds and --full.
inline void add_experiment_flags(CLI::App& app, std::string& experiment, const std::vector<Experiment>& experiments,
                                 std::size_t& seeds, bool& full, const std::string& full_help) {
    std::vector<std::string> names;
    for (const auto& [name, run] : experiments) names.push_back(name);
    names.push_back("all");
    app.add_option("--experiment", experiment, "which experiment to run")
        ->check(CLI::IsMember(names))
        ->capture_default_str();
    app.add_option("--seeds", seeds, "runs of every setting, from seeds 0, 1, ...")
        ->check(whole_number(1))
        ->capture_default_str();
    app.add_flag("--full", full, full_help);
}

/// Runs the experiment named `chosen` (or all of them for "all"), each followed by the time it took.
inline void run_experiments(const std::string& chosen, const std::vector<Experiment>& experiments,
                            const Context& context) {
    for (const auto& [name, run] : experiments) {
        if (chosen != "all" && chosen != name) continue;
        const auto start = std::chrono::steady_clock::now();
        run(context);
        fmt::print("[{} took {:.0f} s]\n\n", name,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        std::fflush(stdout);
    }
}

/// The confusion matrix of the model's predictions on `data`.
inline xg::metrics::ConfusionMatrix confusion(xg::nn::Module& model, const xg::data::Dataset& data) {
    return {xg::metrics::predictions(xg::predict(model, data)), data.labels, data.num_classes};
}

}  // namespace sample
