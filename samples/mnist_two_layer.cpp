// Seed 003's TwoLayerNet on MNIST: Affine(784→50) → ReLU → Affine(50→10) → SoftmaxWithLoss, weights drawn
// 0.01·N(0, 1) and biases zero as in the seed, plain SGD with the seed's lr 0.09 on batches of 100 for 16 epochs
// (the seed draws 10,000 random batches with replacement; we shuffle each epoch, 600 batches). After each
// epoch it measures accuracy on the whole training and test sets (as the seed does) and sets the result beside
// the seed's run. Writes the history CSV and the learning curves; --find-lr first runs the learning-rate range
// test and plots it.
#include "sample.hpp"

namespace nn = xg::nn;

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 16, .batch_size = 100, .lr = 0.09, .seed = 0,
                        .data_dir = sample::default_mnist_directory(), .out = "out/mnist_two_layer"};
    bool find_lr = false;
    CLI::App app("Seed 003's two-layer network (784-50-10, ReLU) on MNIST with SGD");
    sample::add_training_flags(app, flags);
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    app.add_flag("--find-lr", find_lr, "run the learning-rate range test first and plot it (lr_range.svg)");
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    const xg::data::Split mnist = sample::load_mnist(flags.data_dir);
    fmt::print("MNIST: {} training and {} test images from {}\n", mnist.train.size(), mnist.test.size(),
               flags.data_dir);

    xg::Generator generator(flags.seed);
    nn::Sequential model = sample::two_layer_network(generator);
    fmt::print("{}\n", nn::summary(model, {flags.batch_size, 784}));
    xg::optim::SGD sgd(model.parameters(), {.lr = flags.lr});

    if (find_lr) {
        xg::data::DataLoader batches(mnist.train, {.batch_size = flags.batch_size, .seed = flags.seed + 1});
        auto batch = batches.begin();
        const xg::FindLRResult sweep = xg::find_lr(model, sgd, [&](std::size_t) {
            if (++batch == batches.end()) batch = batches.begin();
            return xg::softmax_cross_entropy(model(batch->inputs), batch->labels);
        }, {.min_lr = 1e-4, .max_lr = 10.0, .steps = 200});
        xg::plot::lr_range_test(sweep, sample::output_file(flags, "lr_range.svg"));
        fmt::print("learning-rate range test on this 784-50-10 network (samples/learning_rates runs the seeds' "
                   "784-64-16-10):\nthe loss falls fastest at lr {:.3g} and is lowest at {:.3g} ({})\n\n",
                   sweep.suggested_lr, sweep.min_loss_lr, sample::output_file(flags, "lr_range.svg"));
    }

    xg::FitOptions options;
    options.epochs = flags.epochs;
    options.loader = {.batch_size = flags.batch_size, .shuffle = true, .drop_last = false, .seed = flags.seed};
    options.validation = &mnist.test;
    options.validation_name = "test";
    options.evaluate_train = true;
    options.history_csv = sample::output_file(flags, "history.csv");
    const xg::History history = xg::fit(model, sgd, mnist.train, options);
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {"MNIST 784-50-10"});

    sample::print_beside_seed_003(history, (mnist.train.size() + flags.batch_size - 1) / flags.batch_size);
    fmt::print("\nconfusion matrix on the test set:\n{}\n", sample::confusion(model, mnist.test).to_string());
    fmt::print("wrote {} and {}\n", options.history_csv, sample::output_file(flags, "curves.svg"));
    return history.interrupted ? 130 : 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
