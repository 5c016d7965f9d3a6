// Not one of the seeds' experiments, but beside one: seed 000 fits a noisy sine with polynomials
// (samples/polynomial_regression); this sample fits the same kind of data, y = sin(2πx) + noise, with networks of
// one sigmoid hidden layer of different widths, trained with fit on mean squared error. One hidden unit cannot
// bend twice and underfits; three already follow the curve; more fit it closely. Prints the training and held-out
// error of each and draws the fits over the points.
#include "sample.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace nn = xg::nn;
namespace data = xg::data;

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.epochs = 500;
    flags.batch_size = 32;
    flags.lr = 0.01;
    flags.out = "out/curve_fitting";
    std::size_t points = 500;
    double noise = 0.1;
    CLI::App app("Networks of different widths fit a noisy sine (regression with mean squared error)");
    sample::add_training_flags(app, flags);
    sample::add_out_flag(app, flags);
    // The 20% held-out split rounds to at least one point, and leaves at least two for training, from 3 up.
    app.add_option("--points", points, "how many points")->check(sample::whole_number(3))->capture_default_str();
    app.add_option("--noise", noise, "standard deviation of the noise")->check(sample::finite())->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(flags.threads);
    xg::Generator generator(flags.seed);
    const data::Split split = data::random_split(data::make_sine(points, generator, noise), 0.2, generator);
    fmt::print("{} training and {} held-out points of sin(2πx) + N(0, {}²)\n\n", split.train.size(),
               split.test.size(), noise);

    // The curve drawn for each network: its prediction along x in [0, 1].
    data::Dataset grid;
    grid.inputs = xt::xarray<float>::from_shape({101, 1});
    for (std::size_t i = 0; i <= 100; ++i) grid.inputs(i, 0) = static_cast<float>(i) / 100.0f;
    std::vector<double> grid_x(grid.inputs.begin(), grid.inputs.end()), truth;
    for (double x : grid_x) truth.push_back(std::sin(2.0 * std::numbers::pi * x));

    std::vector<xg::plot::Series> series = {
        {"training points", {split.train.inputs.begin(), split.train.inputs.end()},
         {split.train.targets.begin(), split.train.targets.end()}, true},
        {"sin(2 pi x)", grid_x, truth}};
    fmt::print("hidden units   train MSE   held-out MSE\n");
    for (std::size_t hidden : {1, 3, 16}) {
        nn::Sequential model(nn::Linear(1, hidden, generator), nn::Sigmoid(), nn::Linear(hidden, 1, generator));
        xg::optim::Adam adam(model.parameters(), {.lr = flags.lr});
        xg::FitOptions options;
        options.epochs = flags.epochs;
        options.loader = {.batch_size = flags.batch_size, .shuffle = true, .drop_last = false, .seed = flags.seed};
        options.validation = &split.test;
        options.progress = xg::Progress::none;
        options.history_csv = sample::output_file(flags, fmt::format("history_{}.csv", hidden));
        const xg::History history = xg::fit(model, adam, split.train, options);
        fmt::print("{:>12}   {:>9.5f}   {:>12.5f}\n", hidden, xg::evaluate(model, split.train).loss,
                   history.epochs.back().validation_loss);
        const xg::Var fitted = xg::predict(model, grid);
        series.push_back({fmt::format("{} hidden", hidden), grid_x,
                          {fitted.value<float>().begin(), fitted.value<float>().end()}});
        if (history.interrupted) return 130;
    }
    fmt::print("\nthe noise alone gives an MSE of about {:.5f}\n", noise * noise);
    const std::string file = sample::output_file(flags, "fits.svg");
    xg::plot::line_chart(series, file, {"fitting a noisy sine", "x", "y"});
    fmt::print("wrote {}\n", file);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
