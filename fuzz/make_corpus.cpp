// Writes the seed files that xgrad itself produces into DIRECTORY: .npz archives from save_npz and
// checkpoints of the checkpoint target's subject from save. Run by make_corpus.py, which adds numpy's files.
#include "checkpoint_subject.hpp"

#include <xgrad/checkpoint.hpp>

#include <filesystem>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_corpus DIRECTORY\n";
        return 2;
    }
    const std::filesystem::path directory = argv[1];
    std::filesystem::create_directories(directory);
    const auto file = [&](const std::string& name) { return (directory / name).string(); };

    xg::Generator g(3);
    xg::save_npz(file("arrays.npz"), {{"weight", xg::randn({2, 3}, g)},
                                      {"scale", xg::Var(xt::xarray<double>(2.5))},
                                      {"bias", xg::randn({4}, g, xg::Dtype::float64)}});
    xg::save_npz(file("empty.npz"), {{"none", xg::zeros({0, 3})}});

    fuzz::CheckpointSubject subject(1);
    xg::save(file("model.npz"), subject.net);
    xg::save(file("fresh_optimizer.npz"), subject.net, subject.adam);
    subject.train_step();
    subject.train_step();
    xg::save(file("model_optimizer.npz"), subject.net, subject.adam);
    xg::save(file("model_optimizer_schedule.npz"), subject.net, subject.adam, subject.schedule);
    return 0;
}
