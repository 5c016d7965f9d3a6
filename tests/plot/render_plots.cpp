// Writes every kind of plot, on small synthetic data, into the directory given as its argument, for
// render_test.py to check. crowded.svg squeezes five histograms into a thumbnail on purpose: its tick labels
// must overlap, which shows the checker can see an overlap.
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

#include <cmath>
#include <exception>

namespace plot = xg::plot;

int main(int argc, char** argv) {
    if (argc != 2) {
        fmt::print(stderr, "usage: {} DIRECTORY\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    try {
        std::vector<double> x, falling, rising;
        for (int i = 0; i <= 40; ++i) {
            x.push_back(0.25 * i);
            falling.push_back(std::exp(-0.3 * x.back()));
            rising.push_back(1.0 - std::exp(-0.5 * x.back()));
        }
        plot::line_chart({{"falling", x, falling}, {"rising", x, rising}, {"samples", {1, 4, 7}, {0.2, 0.5, 0.8}, true}},
                         dir + "/lines.svg", {"two curves and a scatter", "x", "y"});
        plot::line_chart({{"", {-1, 1}, {0, 0}, false, "#c8c8c8"}, {"path", {-0.8, 0.0, 0.5}, {0.5, -0.2, 0.1}},
                          {"start", {-0.8}, {0.5}, true, "#000000"}},
                         dir + "/limits.svg",
                         {.title = "limits and colours", .x_limits = {{-1.0, 1.0}}, .y_limits = {{-1.0, 1.0}}});
        plot::line_chart({{"error", {1e-6, 1e-4, 1e-2, 1.0}, {1e-12, 1e-8, 1e-4, 1.0}}}, dir + "/log.svg",
                         {"log-log", "h", "error", true, true});

        xg::History one, many;
        one.validation_name = many.validation_name = "test";
        for (std::size_t e = 1; e <= 12; ++e) {
            const double d = static_cast<double>(e);
            many.epochs.push_back({e, 0.1, 1.0 / d, 0.8 + 0.01 * d, 1.1 / d, 0.78 + 0.01 * d, 0.5, 10});
        }
        one.epochs.push_back(many.epochs.front());
        plot::learning_curves(one, dir + "/curves_one_epoch.svg", {"one epoch"});
        plot::learning_curves(many, dir + "/curves.svg", {"twelve epochs"});

        xg::FindLRResult lr;
        for (int i = 0; i < 60; ++i) {
            lr.lrs.push_back(1e-4 * std::pow(10.0, i / 12.0));
            const double t = i / 59.0;
            lr.smoothed_losses.push_back(2.3 - 1.5 * std::sin(2.6 * t) * (t < 0.6) + 8.0 * std::pow(std::max(0.0, t - 0.6), 2));
        }
        lr.losses = lr.smoothed_losses;
        lr.suggested_lr = lr.lrs[20];
        plot::lr_range_test(lr, dir + "/lr_range.svg");

        plot::roc_curve(xg::metrics::roc_curve({0.1, 0.4, 0.35, 0.8, 0.7, 0.2}, {0, 0, 1, 1, 1, 0}), dir + "/roc.svg");

        xg::Generator g(1);
        xg::Named<xg::Var> layers;
        for (int k = 1; k <= 5; ++k) layers.emplace_back(fmt::format("{}-layer", k), xg::sigmoid(xg::randn({2000}, g, xg::Dtype::float32, 0.0, k)));
        plot::histograms(layers, dir + "/histograms.svg", 30, {.title = "five layers", .x_limits = {{0.0, 1.0}}});
        plot::histograms(layers, dir + "/crowded.svg", 30, {.figure_size = {{6.0, 3.0}}});
        plot::histograms({{"spike", xg::relu(xg::randn({20000}, g))}}, dir + "/spike.svg", 30, {.log_y = true});

        const xg::data::Dataset blobs = xg::data::make_blobs(90, 3, 2, g);
        xg::nn::Sequential model(xg::nn::Linear(2, 8, g), xg::nn::Tanh(), xg::nn::Linear(8, 3, g));
        plot::decision_boundary(model, blobs, dir + "/regions.svg", {"three classes"}, 60);
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
