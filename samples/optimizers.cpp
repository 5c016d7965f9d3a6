// Seed 002's optimizer comparison: SGD, Momentum, AdaGrad and Adam minimizing f(x, y) = x²/20 + y² from
// (−7, 2), with the book's learning rates (0.95, 0.1, 1.5, 0.3) and 30 steps each. SGD zig-zags across the
// steep y direction; Momentum rolls past and back; AdaGrad's steps shrink fast; Adam heads for (0, 0) along
// a smoother path. Prints each optimizer's path and where it ends, writes every step (paths.csv) and draws the
// four paths (paths.svg).
#include "sample.hpp"

#include <functional>
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
    const std::string file = sample::output_file(flags, "paths.svg");
    xg::plot::line_chart(paths, file, {"paths from (-7, 2) to the minimum (0, 0)", "x", "y"});
    fmt::print("wrote {} and {}\n", csv_file, file);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
