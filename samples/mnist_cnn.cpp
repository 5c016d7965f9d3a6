// The book's SimpleConvNet (Deep Learning from Scratch §7.5, ch07/train_convnet.py) on MNIST: Conv(1→30, 5×5) →
// ReLU → MaxPool(2×2) → Affine(4320→100) → ReLU → Affine(100→10) → SoftmaxWithLoss, weights drawn 0.01·N(0, 1) and
// biases zero as in the book, Adam with lr 0.001 on batches of 100 for 20 epochs. --model lenet5 trains a LeNet-5
// instead (LeCun et al. 1998 with ReLU and max-pooling, as today's tutorials write it; PyTorch's default init), and
// --schedule cosine anneals the rate to zero over the epochs (the book keeps it constant). The book scores 1000
// images per epoch; we score the whole test set each epoch and the whole training set at the end, and set the
// book's figures beside ours. Writes the history CSV, the learning curves and the trained weights.
#include "sample.hpp"

namespace nn = xg::nn;

namespace {

nn::Sequential simple_convnet(xg::Generator& generator) {
    nn::Sequential model(nn::Conv2d(1, 30, {5, 5}, generator), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                         nn::Linear(30 * 12 * 12, 100, generator), nn::ReLU(), nn::Linear(100, 10, generator));
    for (auto& [name, parameter] : model.named_parameters()) {
        if (parameter.dim() == 1)
            xg::init::zeros(parameter);
        else
            xg::init::normal(parameter, generator, 0.0, 0.01);
    }
    return model;
}

// Padding 2 makes the 28×28 digits the 32×32 inputs LeNet-5 was drawn for.
nn::Sequential lenet5(xg::Generator& generator) {
    return nn::Sequential(nn::Conv2d(1, 6, {5, 5}, generator, {.padding = {2, 2}}), nn::ReLU(), nn::MaxPool2d({2, 2}),
                          nn::Conv2d(6, 16, {5, 5}, generator), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                          nn::Linear(16 * 5 * 5, 120, generator), nn::ReLU(), nn::Linear(120, 84, generator),
                          nn::ReLU(), nn::Linear(84, 10, generator));
}

// MNIST's images as PyTorch's torchvision gives them: (N, 1, 28, 28), one channel.
void as_images(xg::data::Dataset& data) { data.inputs.reshape({data.size(), 1, 28, 28}); }

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 20, .batch_size = 100, .lr = 0.001, .seed = 0,
                        .data_dir = sample::default_mnist_directory(), .out = "out/mnist_cnn"};
    std::string architecture = "simple", schedule = "constant";
    std::size_t train_images = 0;
    CLI::App app("The book's SimpleConvNet (conv 30@5x5, ReLU, max-pool, 100, 10) or LeNet-5 on MNIST with Adam");
    sample::add_training_flags(app, flags);
    app.add_option("--model", architecture, "simple: the book's SimpleConvNet; lenet5: LeNet-5")
        ->check(CLI::IsMember({"simple", "lenet5"}))
        ->capture_default_str();
    app.add_option("--schedule", schedule,
                   "constant: the book's rate throughout; cosine: annealed to 0 (CosineAnnealingLR)")
        ->check(CLI::IsMember({"constant", "cosine"}))
        ->capture_default_str();
    app.add_option("--train-images", train_images,
                   "train on the first N training images only (the book suggests 5000 when time is short); 0: all")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    xg::data::Split mnist = sample::load_mnist(flags.data_dir);
    if (train_images > 0 && train_images < mnist.train.size()) {
        std::vector<std::size_t> first(train_images);
        std::iota(first.begin(), first.end(), 0);
        mnist.train = mnist.train.subset(first);
    }
    as_images(mnist.train);
    as_images(mnist.test);
    fmt::print("MNIST: {} training and {} test images from {}\n", mnist.train.size(), mnist.test.size(),
               flags.data_dir);

    xg::Generator generator(flags.seed);
    const bool simple = architecture == "simple";
    nn::Sequential model = simple ? simple_convnet(generator) : lenet5(generator);
    fmt::print("{}\n", nn::summary(model, {flags.batch_size, 1, 28, 28}));
    xg::optim::Adam adam(model.parameters(), {.lr = flags.lr});

    xg::FitOptions options;
    options.epochs = flags.epochs;
    options.loader = {.batch_size = flags.batch_size, .shuffle = true, .drop_last = false, .seed = flags.seed};
    options.validation = &mnist.test;
    options.validation_name = "test";
    options.history_csv = sample::output_file(flags, "history.csv");
    xg::optim::CosineAnnealingLR cosine(adam, flags.epochs);
    if (schedule == "cosine") options.scheduler = &cosine;
    const xg::History history = xg::fit(model, adam, mnist.train, options);
    const std::string title = simple ? "MNIST SimpleConvNet" : "MNIST LeNet-5";
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {title});
    const std::string weights = sample::output_file(flags, simple ? "simple_convnet.npz" : "lenet5.npz");
    xg::save(weights, model);

    std::size_t first_99 = 0;
    for (const xg::EpochRecord& r : history.epochs)
        if (!first_99 && r.validation_accuracy >= 0.99) first_99 = r.epoch;
    const xg::Evaluation train = xg::evaluate(model, mnist.train);
    const double test = history.epochs.back().validation_accuracy;
    if (simple) {
        fmt::print("\n                  ours     the book (§7.5, 20 epochs)\n");
        fmt::print("train accuracy    {:.4f}   0.9982\ntest accuracy     {:.4f}   0.9896\n", train.accuracy, test);
    } else {
        fmt::print("\ntrain accuracy    {:.4f}\ntest accuracy     {:.4f}\n", train.accuracy, test);
    }
    if (first_99)
        fmt::print("99% test accuracy first reached at epoch {}\n", first_99);
    else
        fmt::print("99% test accuracy not reached\n");
    if (history.interrupted)
        fmt::print("(epoch {} was interrupted after {} batches; the figures measure the model it left)\n",
                   history.epochs.back().epoch, history.epochs.back().batches);
    fmt::print("\nconfusion matrix on the test set:\n{}\n", sample::confusion(model, mnist.test).to_string());
    fmt::print("wrote {}, {} and {}\n", options.history_csv, sample::output_file(flags, "curves.svg"), weights);
    return history.interrupted ? 130 : 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
