#pragma once
// What mlp_epoch and cnn_epoch share: their training flags (as their PyTorch twins share mlp_epoch.py's
// add_training_arguments), and the run of xg::fit whose lines compare.py reads.
#include "flags.hpp"

#include <xgrad/xgrad.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

/// --batch, --lr, --epochs, --threads, --seed and --data (MNIST's directory).
struct TrainingOptions {
    explicit TrainingOptions(double default_lr) : lr(default_lr) {}

    std::size_t batch = 100;
    double lr;
    std::size_t epochs = 3;
    int threads = 1;
    std::uint64_t seed = 1;
    std::string data = xg::data::cache_directory() + "/mnist";

    void read(Flags& flags) {
        flags.read("--batch", batch);
        flags.read("--lr", lr);
        flags.read("--epochs", epochs);
        flags.read("--threads", threads);
        flags.read("--seed", seed);
        flags.read("--data", data);
    }

    /// fit's settings for these flags: shuffled batches seeded by --seed, no progress display.
    xg::FitOptions fit_options() const {
        xg::FitOptions options;
        options.epochs = epochs;
        options.loader = {.batch_size = batch, .shuffle = true, .seed = seed};
        options.progress = xg::Progress::none;
        return options;
    }
};

/// Trains with fit and prints one line per epoch, then the test accuracy:
///   epoch=1 seconds=1.2345 train_loss=0.3456
///   test_accuracy=0.9612
inline void train_and_report(xg::nn::Module& model, xg::optim::Optimizer& optimizer, const xg::data::Split& mnist,
                             const TrainingOptions& o) {
    const xg::History history = xg::fit(model, optimizer, mnist.train, o.fit_options());
    for (const xg::EpochRecord& r : history.epochs)
        std::printf("epoch=%zu seconds=%.4f train_loss=%.4f\n", r.epoch, r.seconds, r.train_loss);
    std::printf("test_accuracy=%.4f\n", xg::evaluate(model, mnist.test).accuracy);
}
