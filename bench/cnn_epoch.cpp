// Trains the book's SimpleConvNet (conv 30@5×5 → ReLU → max-pool 2 → 4320-100 → ReLU → 100-10, PyTorch's default
// init, Adam) on MNIST with xg::fit and prints machine-readable lines, for compare.py --cnn (which runs PyTorch,
// cnn_epoch.py, and the GEMM floor, conv_floor.cpp, beside it):
//   cnn_epoch --data ~/.cache/xgrad/mnist --batch 100 --lr 0.001 --epochs 3 --threads 1 --seed 1
//   epoch=1 seconds=12.3456 train_loss=0.3456
//   test_accuracy=0.9812
#include "flags.hpp"

#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace {

namespace nn = xg::nn;

struct Options {
    std::size_t batch = 100;
    double lr = 0.001;
    std::size_t epochs = 3;
    int threads = 1;
    std::uint64_t seed = 1;
    std::string data = xg::data::cache_directory() + "/mnist";
};

Options parse(int argc, char** argv) {
    Options o;
    Flags flags(argc, argv);
    flags.read("--batch", o.batch);
    flags.read("--lr", o.lr);
    flags.read("--epochs", o.epochs);
    flags.read("--threads", o.threads);
    flags.read("--seed", o.seed);
    flags.read("--data", o.data);
    flags.finish();
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    xg::set_num_threads(o.threads);
    xg::data::Split mnist = xg::data::load_mnist(o.data);
    for (xg::data::Dataset* set : {&mnist.train, &mnist.test}) set->inputs.reshape({set->size(), 1, 28, 28});
    xg::Generator generator(o.seed);
    nn::Sequential model(nn::Conv2d(1, 30, {5, 5}, generator), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                         nn::Linear(30 * 12 * 12, 100, generator), nn::ReLU(), nn::Linear(100, 10, generator));
    xg::optim::Adam adam(model.parameters(), {.lr = o.lr});

    xg::FitOptions options;
    options.epochs = o.epochs;
    options.loader = {.batch_size = o.batch, .shuffle = true, .seed = o.seed};
    options.progress = xg::Progress::none;
    const xg::History history = xg::fit(model, adam, mnist.train, options);
    for (const xg::EpochRecord& r : history.epochs)
        std::printf("epoch=%zu seconds=%.4f train_loss=%.4f\n", r.epoch, r.seconds, r.train_loss);
    std::printf("test_accuracy=%.4f\n", xg::evaluate(model, mnist.test).accuracy);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "cnn_epoch: %s\n", e.what());
    return 2;
}
