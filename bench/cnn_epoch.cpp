// Trains the book's SimpleConvNet (conv 30@5×5 → ReLU → max-pool 2 → 4320-100 → ReLU → 100-10, PyTorch's default
// init, Adam) on MNIST with xg::fit and prints machine-readable lines, for compare.py --cnn (which runs PyTorch,
// cnn_epoch.py, and the GEMM floor, conv_floor.cpp, beside it):
//   cnn_epoch --data ~/.cache/xgrad/mnist --batch 100 --lr 0.001 --epochs 3 --threads 1 --seed 1
//   epoch=1 seconds=12.3456 train_loss=0.3456
//   test_accuracy=0.9812
#include "training.hpp"

#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace {

namespace nn = xg::nn;

TrainingOptions parse(int argc, char** argv) {
    TrainingOptions o(0.001);
    Flags flags(argc, argv);
    o.read(flags);
    flags.finish();
    return o;
}

}  // namespace

int main(int argc, char** argv) try {
    const TrainingOptions o = parse(argc, argv);
    xg::set_num_threads(o.threads);
    xg::data::Split mnist = xg::data::load_mnist(o.data);
    for (xg::data::Dataset* set : {&mnist.train, &mnist.test}) set->inputs.reshape({set->size(), 1, 28, 28});
    xg::Generator generator(o.seed);
    nn::Sequential model(nn::Conv2d(1, 30, {5, 5}, generator), nn::ReLU(), nn::MaxPool2d({2, 2}), nn::Flatten(),
                         nn::Linear(30 * 12 * 12, 100, generator), nn::ReLU(), nn::Linear(100, 10, generator));
    xg::optim::Adam adam(model.parameters(), {.lr = o.lr});

    train_and_report(model, adam, mnist, o);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "cnn_epoch: %s\n", e.what());
    return 2;
}
