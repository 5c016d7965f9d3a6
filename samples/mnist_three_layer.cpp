// Seeds 000/001's three-layer network on MNIST: 784-64-16-10 with a sigmoid and a tanh hidden layer and a softmax
// output, Xavier initialization, SGD with lr 0.2 on batches of 128 for 40 epochs, the seeds' settings. The seeds
// do not show how they split off validation data; we hold out 20% of the training images, and the test set is
// scored once at the end.
//
// The training loop is written out by hand here (fit does the same in one call; see mnist_two_layer.cpp): gather
// a batch, run the model, compute the loss, backward, step, and keep the numbers for the history.
#include "sample.hpp"

#include <chrono>

namespace nn = xg::nn;
namespace data = xg::data;

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 40, .batch_size = 128, .lr = 0.2, .seed = 0,
                        .data_dir = sample::default_mnist_directory(), .out = "out/mnist_three_layer"};
    CLI::App app("Seeds 000/001's three-layer network (784-64-16-10, sigmoid and tanh) on MNIST, trained by a "
                 "hand-written loop");
    sample::add_training_flags(app, flags);
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz)");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    const data::Split mnist = sample::load_mnist(flags.data_dir);
    xg::Generator generator(flags.seed);
    const data::Split split = data::random_split(mnist.train, 0.2, generator);
    fmt::print("MNIST: {} training, {} validation and {} test images\n", split.train.size(), split.test.size(),
               mnist.test.size());

    nn::Sequential model = sample::three_layer_network(generator);
    xg::optim::SGD sgd(model.parameters(), {.lr = flags.lr});
    data::DataLoader batches(split.train, {.batch_size = flags.batch_size, .shuffle = true, .seed = flags.seed});

    xg::History history;
    for (std::size_t epoch = 1; epoch <= flags.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        model.train();
        double loss_sum = 0.0;
        std::size_t correct = 0;
        for (const data::Batch& batch : batches) {
            const xg::Var logits = model(batch.inputs);
            xg::Var loss = xg::softmax_cross_entropy(logits, batch.labels);
            sgd.zero_grad();
            loss.backward();
            sgd.step();
            loss_sum += loss.item() * static_cast<double>(batch.size());
            const std::vector<std::size_t> predicted = xg::metrics::predictions(logits);
            for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == batch.labels[i];
        }
        const xg::Evaluation validation = xg::evaluate(model, split.test);
        const auto n = static_cast<double>(split.train.size());
        history.epochs.push_back({epoch, sgd.lr(), loss_sum / n, static_cast<double>(correct) / n, validation.loss,
                                  validation.accuracy,
                                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                                  batches.size()});
        const xg::EpochRecord& r = history.epochs.back();
        fmt::print("epoch {:>2}/{}  loss {:.4f}  acc {:.4f}  val_loss {:.4f}  val_acc {:.4f}  {:.2f} s\n", epoch,
                   flags.epochs, r.train_loss, r.train_accuracy, r.validation_loss, r.validation_accuracy, r.seconds);
    }

    history.save_csv(sample::output_file(flags, "history.csv"));
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {"MNIST 784-64-16-10"});
    const xg::metrics::ConfusionMatrix confusion = sample::confusion(model, mnist.test);
    fmt::print("\ntest accuracy {:.4f}, macro F1 {:.4f}\n\n{}\nwrote {} and {}\n", confusion.accuracy(),
               confusion.f1(xg::metrics::Average::macro), confusion.to_string(),
               sample::output_file(flags, "history.csv"), sample::output_file(flags, "curves.svg"));
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
