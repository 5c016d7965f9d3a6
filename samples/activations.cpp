// Seed 002's experiment on initial weights (§6.2): 1000 random inputs pass through 5 layers of 100 units, and each
// layer's activations show what the starting weights do. With sigmoid, N(0, 1) weights pile activations at 0 and 1
// (gradients vanish), N(0, 0.01) squeezes them around 0.5 (every unit alike), and "Xavier" (std 1/√n) keeps them
// spread; tanh with Xavier spreads around 0. With ReLU, std 0.01 shrinks them towards 0 layer by layer, Xavier
// shrinks them more slowly, and He (std √(2/n)) keeps every layer alike. Prints per layer the mean, the spread and
// the saturated fraction (sigmoid: within 0.05 of 0 or 1; tanh: within 0.05 of ±1; ReLU: exactly 0), writes one
// histogram SVG per case and activations.csv.
#include "sample.hpp"

#include <cmath>
#include <functional>

#include <xtensor/xadapt.hpp>

namespace {

enum class Activation { sigmoid, tanh, relu };

struct Case {
    std::string name;
    Activation activation;
    double weight_std;
    std::string seed_says;  // seed 002's description of its histograms
};

xg::Var apply(Activation activation, const xg::Var& z) {
    switch (activation) {
        case Activation::sigmoid: return xg::sigmoid(z);
        case Activation::tanh: return xg::tanh(z);
        case Activation::relu: return xg::relu(z);
    }
    return z;
}

// The share of activations where the unit no longer responds: the flat ends of sigmoid and tanh, ReLU's zero.
bool saturated(Activation activation, float a) {
    switch (activation) {
        case Activation::sigmoid: return a < 0.05f || a > 0.95f;
        case Activation::tanh: return std::abs(a) > 0.95f;
        case Activation::relu: return a == 0.0f;
    }
    return false;
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.out = "out/activations";
    CLI::App app("Seed 002's activation histograms for different initial weights");
    app.add_option("--seed", flags.seed, "seed of the inputs and weights")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    const double n = 100.0;  // units per layer, so also each unit's fan-in
    const std::vector<Case> cases = {
        {"sigmoid_std_1", Activation::sigmoid, 1.0, "piled at 0 and 1: gradients vanish"},
        {"sigmoid_std_0.01", Activation::sigmoid, 0.01, "bunched at 0.5: limited expressiveness"},
        {"sigmoid_xavier", Activation::sigmoid, 1.0 / std::sqrt(n), "spread out in every layer"},
        {"tanh_xavier", Activation::tanh, 1.0 / std::sqrt(n), "not in seed 002 (tanh is centred on 0)"},
        {"relu_std_0.01", Activation::relu, 0.01, "values near 0; on MNIST it learns nothing (§6.2.4)"},
        {"relu_xavier", Activation::relu, 1.0 / std::sqrt(n), "not in seed 002 (it gives He for ReLU)"},
        {"relu_he", Activation::relu, std::sqrt(2.0 / n), "the initial value for ReLU"},
    };
    std::string csv = "case,layer,mean,std,saturated_fraction\n";

    xg::NoGradGuard no_grad;
    for (const Case& c : cases) {
        xg::Generator generator(flags.seed);
        xg::Var x = xg::randn({1000, 100}, generator);
        xg::Named<xg::Var> panels;
        fmt::print("{} (weights N(0, {:.4g}²)); seed 002: {}\n", c.name, c.weight_std, c.seed_says);
        fmt::print("  layer    mean     std  saturated\n");
        for (int layer = 1; layer <= 5; ++layer) {
            x = apply(c.activation, xg::matmul(x, xg::randn({100, 100}, generator, xg::Dtype::float32, 0.0, c.weight_std)));
            const xt::xarray<float>& a = x.value<float>();
            const double mean = xt::mean(a)();
            const double spread = std::sqrt(xt::mean(xt::square(a - mean))());
            std::size_t flat = 0;
            for (float value : a) flat += saturated(c.activation, value);
            const double fraction = static_cast<double>(flat) / static_cast<double>(a.size());
            fmt::print("  {:>5}  {:6.3f}  {:6.3f}  {:8.1f}%\n", layer, mean, spread, 100.0 * fraction);
            csv += fmt::format("{},{},{:.6g},{:.6g},{:.6g}\n", c.name, layer, mean, spread, fraction);
            // ReLU's zeros would dwarf every other bar (the book clips its y axis instead): plot the positive ones.
            if (c.activation == Activation::relu) {
                std::vector<float> positive;
                for (float value : a)
                    if (value > 0.0f) positive.push_back(value);
                panels.emplace_back(fmt::format("{}-layer (a > 0)", layer),
                                    xg::Var(xt::xarray<float>(xt::adapt(positive, {positive.size()}))));
            } else {
                panels.emplace_back(fmt::format("{}-layer", layer), x);
            }
        }
        // Sigmoid and tanh over their whole range, so the cases compare; ReLU over the values it gave.
        xg::plot::ChartOptions options{fmt::format("{}, weights N(0, {:.4g}²)", c.name, c.weight_std), "activation"};
        if (c.activation == Activation::sigmoid) options.x_limits = {{0.0, 1.0}};
        if (c.activation == Activation::tanh) options.x_limits = {{-1.0, 1.0}};
        xg::plot::histograms(panels, sample::output_file(flags, c.name + ".svg"), 30, options);
    }
    xg::write_file(sample::output_file(flags, "activations.csv"), csv);
    fmt::print("wrote activations.csv and one histogram SVG per case in {}\n", flags.out);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
