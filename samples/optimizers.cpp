// Seed 002's optimizer comparison: SGD, Momentum, AdaGrad and Adam minimizing f(x, y) = x²/20 + y² from
// (−7, 2), with the book's learning rates (0.95, 0.1, 1.5, 0.3) and 30 steps each. SGD zig-zags across the
// steep y direction; Momentum rolls past and back; AdaGrad's steps shrink fast; Adam heads for (0, 0) along
// a smoother path. Prints each optimizer's path and where it ends, writes every step (paths.csv) and draws the
// four paths (paths.svg).
#include "sample.hpp"

#include <cmath>
#include <functional>
#include <numbers>
#include <memory>
#include <string>
#include <vector>

namespace optim = xg::optim;

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.out = "out/optimizers";
    int steps = 30;
    CLI::App app("Seed 002's optimizer comparison on f(x, y) = x^2/20 + y^2");
    app.add_option("--steps", steps, "updates per optimizer")
        ->check(sample::whole_number(1, std::numeric_limits<int>::max()))
        ->capture_default_str();
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    struct Run {
        std::string name;
        std::function<std::unique_ptr<optim::Optimizer>(std::vector<xg::Var>)> make;
    };
    const std::vector<Run> runs = {
        {"SGD(lr=0.95)", [](auto p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 0.95}); }},
        {"Momentum(lr=0.1)",
         [](auto p) { return std::make_unique<optim::Momentum>(p, optim::MomentumOptions{.lr = 0.1}); }},
        {"AdaGrad(lr=1.5)",
         [](auto p) { return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions{.lr = 1.5, .eps = 1e-7}); }},
        {"Adam(lr=0.3)", [](auto p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions{.lr = 0.3}); }},
    };
    const std::vector<int> shown = {0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30};

    fmt::print("minimizing f(x, y) = x^2/20 + y^2 from (-7, 2), {} steps\n\n", steps);
    std::vector<xg::plot::Series> paths;
    const std::string csv_file = sample::output_file(flags, "paths.csv");
    std::string csv = "optimizer,step,x,y,f\n";
    for (const Run& run : runs) {
        xg::Var x(-7.0, true), y(2.0, true);
        auto optimizer = run.make({x, y});
        paths.push_back({run.name, {}, {}});
        fmt::print("{}\n  step          x          y     f(x, y)\n", run.name);
        for (int step = 0; step <= steps; ++step) {
            optimizer->zero_grad();
            xg::Var f = x * x / 20.0 + y * y;
            paths.back().x.push_back(x.item());
            paths.back().y.push_back(y.item());
            csv += fmt::format("{},{},{:.9g},{:.9g},{:.9g}\n", run.name, step, x.item(), y.item(), f.item());
            if (std::find(shown.begin(), shown.end(), step) != shown.end() || step == steps)
                fmt::print("  {:>4}  {:>9.5f}  {:>9.5f}  {:>10.6f}\n", step, x.item(), y.item(), f.item());
            if (step == steps) break;
            f.backward();
            optimizer->step();
        }
        fmt::print("\n");
    }
    xg::write_file(csv_file, csv);
    // Level sets of f under the paths, as the book's contour plot: the ellipses x²/20 + y² = level, in grey and
    // out of the legend; then the start and the minimum.
    std::vector<xg::plot::Series> chart;
    for (double level : {0.05, 0.2, 0.5, 1.0, 2.0, 3.5, 5.5, 8.0}) {
        xg::plot::Series ellipse{"", {}, {}, false, "#c8c8c8"};
        for (int k = 0; k <= 120; ++k) {
            const double t = 2.0 * std::numbers::pi * k / 120.0;
            ellipse.x.push_back(std::sqrt(20.0 * level) * std::cos(t));
            ellipse.y.push_back(std::sqrt(level) * std::sin(t));
        }
        chart.push_back(ellipse);
    }
    chart.insert(chart.end(), paths.begin(), paths.end());
    chart.push_back({"start (-7, 2)", {-7.0}, {2.0}, true, "#7f7f7f"});
    chart.push_back({"minimum (0, 0)", {0.0}, {0.0}, true, "#000000"});
    const std::string file = sample::output_file(flags, "paths.svg");
    xg::plot::line_chart(chart, file,
                         {.title = "paths from (-7, 2) to the minimum of f(x, y) = x²/20 + y²",
                          .x_label = "x",
                          .y_label = "y",
                          .x_limits = {{-10.0, 10.0}},
                          .y_limits = {{-3.5, 3.5}},
                          .figure_size = {{8.0, 4.8}}});
    fmt::print("wrote {} and {}\n", csv_file, file);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
