// Seed 002's experiment on initial weights: 1000 random inputs pass through 5 layers of 100 units, and the
// histogram of each layer's activations shows what the starting weights do. With sigmoid, N(0, 1) weights push
// activations to 0 and 1 (gradients vanish), N(0, 0.01) squeezes them around 0.5 (every unit alike), and
// "Xavier" (std 1/√n) keeps them spread. With ReLU, He (std √(2/n)) keeps every layer alive. Writes one SVG per
// case and prints the spread of each layer.
#include "sample.hpp"

#include <cmath>
#include <functional>

int main(int argc, char** argv) {
    sample::Flags flags;
    flags.out = "out/activations";
    CLI::App app("Seed 002's activation histograms for different initial weights");
    app.add_option("--seed", flags.seed, "seed of the inputs and weights")->capture_default_str();
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    struct Case {
        std::string name;
        double std;
        std::function<xg::Var(const xg::Var&)> activation;
    };
    const double n = 100.0;
    const std::vector<Case> cases = {
        {"sigmoid_std_1", 1.0, [](const xg::Var& z) { return xg::sigmoid(z); }},
        {"sigmoid_std_0.01", 0.01, [](const xg::Var& z) { return xg::sigmoid(z); }},
        {"sigmoid_xavier", 1.0 / std::sqrt(n), [](const xg::Var& z) { return xg::sigmoid(z); }},
        {"relu_he", std::sqrt(2.0 / n), [](const xg::Var& z) { return xg::relu(z); }},
    };
    xg::NoGradGuard no_grad;
    for (const Case& c : cases) {
        xg::Generator generator(flags.seed);
        xg::Var x = xg::randn({1000, 100}, generator);
        xg::Named<xg::Var> layers;
        fmt::print("{:<18}", c.name);
        for (int layer = 1; layer <= 5; ++layer) {
            x = c.activation(xg::matmul(x, xg::randn({100, 100}, generator, xg::Dtype::float32, 0.0, c.std)));
            layers.emplace_back(fmt::format("{}-layer", layer), x);
            const xt::xarray<float>& a = x.value<float>();
            const double mean = xt::mean(a)();
            fmt::print("  layer {}: mean {:.3f} std {:.3f}", layer, mean, std::sqrt(xt::mean(xt::square(a - mean))()));
        }
        fmt::print("\n");
        const bool relu = c.name.starts_with("relu");
        xg::plot::histograms(layers, sample::output_file(flags, c.name + ".svg"), 30, 0.0, relu ? 2.0 : 1.0);
    }
    fmt::print("wrote one histogram SVG per case in {}\n", flags.out);
}
