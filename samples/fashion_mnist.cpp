// The three-layer network of mnist_three_layer.cpp (784-64-16-10, sigmoid and tanh, Xavier, SGD lr 0.2, batches of
// 128) on Fashion-MNIST: the same file format and sizes, ten kinds of clothing instead of digits, and a harder
// task. The data comes from Debian's dataset-fashion-mnist package. Trained with fit, watching the test set.
#include "sample.hpp"

namespace nn = xg::nn;

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 40, .batch_size = 128, .lr = 0.2, .seed = 0,
                        .data_dir = "/usr/share/datasets/fashion-mnist", .out = "out/fashion_mnist"};
    CLI::App app("The three-layer network (784-64-16-10, sigmoid and tanh) on Fashion-MNIST");
    sample::add_training_flags(app, flags);
    sample::add_data_flag(app, flags, "Fashion-MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    const xg::data::Split fashion =
        sample::load_mnist(flags.data_dir, "install Fashion-MNIST with: apt-get install dataset-fashion-mnist");
    fmt::print("Fashion-MNIST: {} training and {} test images from {}\n", fashion.train.size(), fashion.test.size(),
               flags.data_dir);

    xg::Generator generator(flags.seed);
    nn::Sequential model = sample::three_layer_network(generator);
    xg::optim::SGD sgd(model.parameters(), {.lr = flags.lr});

    xg::FitOptions options;
    options.epochs = flags.epochs;
    options.loader = {.batch_size = flags.batch_size, .shuffle = true, .drop_last = false, .seed = flags.seed};
    options.validation = &fashion.test;
    options.validation_name = "test";
    options.history_csv = sample::output_file(flags, "history.csv");
    const xg::History history = xg::fit(model, sgd, fashion.train, options);
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {"Fashion-MNIST 784-64-16-10"});

    const std::vector<std::string> names = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};
    const xg::metrics::ConfusionMatrix confusion = sample::confusion(model, fashion.test);
    fmt::print("\ntest accuracy {:.4f}, macro F1 {:.4f}\n\n{}\nwrote {} and {}\n", confusion.accuracy(),
               confusion.f1(xg::metrics::Average::macro), confusion.to_string(names), options.history_csv,
               sample::output_file(flags, "curves.svg"));
    return history.interrupted ? 130 : 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
