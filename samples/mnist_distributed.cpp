// Seed 003's two-layer network on MNIST (samples/mnist_two_layer) trained on several processes:
//     mpirun -np 2 build/samples/mnist_distributed
// Each process trains on its share of every batch of 100 (50 rows each on 2 processes) and fit averages their
// gradients, so N processes take the steps one process would. Process 0 prints the run beside the seed's, how much
// the processes sent to each other per step and how long that took, and writes the history, the curves and a
// checkpoint after every epoch; --resume goes on from that checkpoint, on any number of processes.
#include "sample.hpp"

#include <xgrad/distributed.hpp>

namespace nn = xg::nn;

namespace {

xg::dist::Environment* processes = nullptr;  // main's

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 16, .batch_size = 100, .lr = 0.09, .seed = 0,
                        .data_dir = sample::default_mnist_directory(), .out = "out/mnist_distributed"};
    bool resume = false;
    CLI::App app("Seed 003's two-layer network (784-50-10, ReLU) on MNIST, trained on the processes mpirun starts");
    sample::add_training_flags(app, flags);
    app.get_option("--batch-size")->description("rows per mini-batch over all the processes; each takes its share");
    sample::add_data_flag(app, flags, "MNIST's four IDX files (plain or .gz); every process reads them");
    sample::add_out_flag(app, flags);
    app.add_flag("--resume", resume, "go on from the checkpoint an earlier run left in --out, on any number of processes");
    const bool leader = processes->rank() == 0;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Every process parses the same flags; one says what was wrong.
        if (leader) return app.exit(error);
        return error.get_exit_code();
    }
    const std::size_t count = processes->size();
    if (flags.batch_size % count != 0)
        throw std::runtime_error(fmt::format("--batch-size {} does not split evenly over {} processes",
                                             flags.batch_size, count));

    xg::set_num_threads(flags.threads);
    const xg::data::Split mnist = sample::load_mnist(flags.data_dir);
    xg::Generator generator(flags.seed);
    nn::Sequential model = sample::two_layer_network(generator);
    xg::optim::SGD sgd(model.parameters(), {.lr = flags.lr});
    if (leader)
        fmt::print("MNIST: {} training and {} test images from {}\n{} process{} with {} thread{} each; each trains on "
                   "{} rows of every batch of {}\n\n",
                   mnist.train.size(), mnist.test.size(), flags.data_dir, count, count == 1 ? "" : "es",
                   flags.threads, flags.threads == 1 ? "" : "s", flags.batch_size / count, flags.batch_size);

    xg::FitOptions options;
    options.epochs = flags.epochs;
    options.loader = {.batch_size = flags.batch_size / count, .seed = flags.seed};
    options.validation = &mnist.test;
    options.validation_name = "test";
    options.evaluate_train = true;
    options.history_csv = sample::output_file(flags, "history.csv");
    options.checkpoint = sample::output_file(flags, "checkpoint.npz");
    if (resume) options.resume_from = options.checkpoint;
    options.process_group = processes;
    const xg::dist::Traffic before = processes->traffic();
    const xg::History history = xg::fit(model, sgd, mnist.train, options);
    const xg::dist::Traffic traffic = processes->traffic();
    if (!leader || history.epochs.empty()) return history.interrupted ? 130 : 0;

    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {"MNIST 784-50-10"});
    const std::size_t batches = (mnist.train.size() + flags.batch_size - 1) / flags.batch_size;
    sample::print_beside_seed_003(history, batches);
    std::size_t steps = 0;
    double seconds = 0.0;
    for (const xg::EpochRecord& r : history.epochs) {
        steps += r.batches;
        seconds += r.seconds;
    }
    const auto per_step = [&](double total) { return total / static_cast<double>(steps); };
    fmt::print("\n{:.2f} s per epoch, evaluation included ({} epoch{})\n", seconds / history.epochs.size(),
               history.epochs.size(), history.epochs.size() == 1 ? "" : "s");
    fmt::print("process 0 sent per step {:.1f} KB in {:.1f} calls, which took {:.0f} µs, waiting for the others "
               "included: {:.1f}% of the run\n",
               per_step(static_cast<double>(traffic.bytes - before.bytes)) / 1000.0,
               per_step(static_cast<double>(traffic.calls - before.calls)),
               per_step(traffic.seconds - before.seconds) * 1e6, 100.0 * (traffic.seconds - before.seconds) / seconds);
    fmt::print("\nconfusion matrix on the test set:\n{}\n", sample::confusion(model, mnist.test).to_string());
    fmt::print("wrote {}, {} and {}\n", options.history_csv, sample::output_file(flags, "curves.svg"),
               options.checkpoint);
    return history.interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    xg::dist::Environment environment(argc, argv);
    processes = &environment;
    return sample::guarded(run, argc, argv);
}
