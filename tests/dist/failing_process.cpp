// A data-parallel fit in which process 1 fails, for faults_test.py: `failing_process kill` makes it die (SIGKILL)
// mid-epoch, `failing_process stop` makes it stop without dying (SIGSTOP), as a hung or unreachable process would,
// and `failing_process exit` makes it leave main with status 1 before fit, as after an error of its own. The
// collectives' timeout is 2 seconds when stopping, so that the watchdog is what ends that run, and 100 seconds
// otherwise, so that it is not.
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

#include <csignal>
#include <string>

int main(int argc, char** argv) {
    const std::string failure = argc > 1 ? argv[1] : "";
    xg::dist::Environment mpi(argc, argv, {.timeout = std::chrono::seconds(failure == "stop" ? 2 : 100)});
    if (failure != "kill" && failure != "stop" && failure != "exit") {
        fmt::print(stderr, "usage: mpirun -np 2 failing_process kill|stop|exit\n");
        return 2;
    }
    if (failure == "exit" && mpi.rank() == 1) {
        fmt::print("process 1 fails now\n");
        return 1;
    }
    xg::Generator generator(1);
    const xg::data::Dataset data = xg::data::make_blobs(4000, 3, 4, generator);
    xg::nn::Sequential model(xg::nn::Linear(4, 16, generator), xg::nn::ReLU(), xg::nn::Linear(16, 3, generator));
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    xg::FitOptions options;
    options.epochs = 1000;
    options.loader.batch_size = 10;
    options.progress = xg::Progress::none;
    options.process_group = &mpi;
    options.on_batch_end = [&](const xg::BatchEnd& end) {
        if (mpi.rank() == 1 && end.epoch == 2 && end.batch == 50) {
            fmt::print("process 1 fails now\n");
            std::fflush(stdout);
            std::raise(failure == "kill" ? SIGKILL : SIGSTOP);
        }
    };
    xg::fit(model, sgd, data, options);
    fmt::print("process {} finished all 1000 epochs; it should have been ended\n", mpi.rank());
    return 1;
}
