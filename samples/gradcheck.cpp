// Gradient checking (seed 001 §12.3 and seed 003's TwoLayerNet): the seed's two-layer network on random
// data (12 inputs of 26×26, 20 sigmoid hidden units, 10 softmax outputs), its backprop gradients compared
// with central differences parameter by parameter.
#include "sample.hpp"

#include <cmath>
#include <vector>

namespace {

// The two distances the seeds use: the book's mean |backprop − numeric| and Ng's
// ‖a − n‖₂ / (‖a‖₂ + ‖n‖₂), which is "very good" below 1e-7 and "check again" above 1e-2.
struct Distances {
    double mean_absolute = 0, relative = 0;
};
Distances distances(const xg::Var& analytic, const xg::Var& numeric) {
    const auto& a = analytic.value<double>();
    const auto& n = numeric.value<double>();
    double absolute = 0, difference = 0, norm_a = 0, norm_n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        absolute += std::abs(a.data()[i] - n.data()[i]);
        difference += (a.data()[i] - n.data()[i]) * (a.data()[i] - n.data()[i]);
        norm_a += a.data()[i] * a.data()[i];
        norm_n += n.data()[i] * n.data()[i];
    }
    return {absolute / a.size(), std::sqrt(difference) / (std::sqrt(norm_a) + std::sqrt(norm_n))};
}

}  // namespace

int run(int argc, char** argv) {
    std::uint64_t seed = 2024;
    std::size_t batch = 12, hidden = 20;
    CLI::App app("Gradient checking of the seed's two-layer network: backprop against central differences");
    app.add_option("--seed", seed, "seed of the data and weights")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    app.add_option("--batch-size", batch, "rows of random input")
        ->check(sample::whole_number(1))
        ->capture_default_str();
    app.add_option("--hidden", hidden, "hidden sigmoid units")->check(sample::whole_number(1))->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    xg::set_num_threads(1);
    xg::Generator generator(seed);
    const std::size_t inputs = 26 * 26, classes = 10;
    const xg::Var x = xg::rand({batch, inputs}, generator, xg::Dtype::float64);
    std::vector<std::size_t> labels(batch);
    for (auto& label : labels) label = generator.below(classes);

    // The seed's TwoLayerNet draws weights from a standard normal (its weight_init_std goes unused).
    std::vector<xg::Var> parameters = {
        xg::randn({inputs, hidden}, generator, xg::Dtype::float64).set_requires_grad().set_name("W1"),
        xg::zeros({hidden}, xg::Dtype::float64).set_requires_grad().set_name("b1"),
        xg::randn({hidden, classes}, generator, xg::Dtype::float64).set_requires_grad().set_name("W2"),
        xg::zeros({classes}, xg::Dtype::float64).set_requires_grad().set_name("b2"),
    };
    auto loss_of = [&](const std::vector<xg::Var>& p) {
        const xg::Var hidden_out = xg::sigmoid(xg::affine(x, p[0], p[1]));
        return xg::softmax_cross_entropy(xg::affine(hidden_out, p[2], p[3]), labels);
    };

    xg::Var loss = loss_of(parameters);
    fmt::print("loss {:.6f}\n", loss.item());
    loss.backward();

    fmt::print("Ng's relative difference is judged by seed 001's thresholds: below 1e-7 very good, above 1e-2 check "
               "again.\n\n");
    fmt::print("{:<4} {:>10} {:>24} {:>19}  {}\n", "", "shape", "mean |backprop-numeric|", "Ng's relative diff",
               "verdict");
    bool good = true;
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        // The seeds' numerical_gradient: one parameter perturbed by h = 1e-4, the others held fixed.
        const xg::Var numeric = xg::numerical_gradient(
            [&](const xg::Var& w) {
                std::vector<xg::Var> p = parameters;
                p[k] = w;
                return loss_of(p);
            },
            parameters[k]);
        const Distances d = distances(parameters[k].grad(), numeric);
        good = good && d.relative < 1e-7;
        const char* verdict = d.relative < 1e-7 ? "very good" : d.relative > 1e-2 ? "check again" : "look closer";
        fmt::print("{:<4} {:>10} {:>24.3e} {:>19.3e}  {}\n", parameters[k].name(),
                   xg::to_string(parameters[k].shape()), d.mean_absolute, d.relative, verdict);
    }

    // xg::gradcheck does the same for every element at once and reports the worst one per parameter.
    const xg::GradcheckReport report = xg::gradcheck(loss_of, parameters);
    // A different yardstick from Ng's: per element, with PyTorch's tolerances, so its numbers are not comparable
    // with the 1e-7 above.
    const xg::GradcheckOptions tolerances;
    fmt::print("\nxg::gradcheck, element by element (PyTorch's rule): an element passes when\n"
               "|analytic - numeric| <= {:g} + {:g}·|numeric|. The error shown is |analytic - numeric| / "
               "max(|analytic|, |numeric|, {:g}):\n\"ok\" means it stays near or below {:g}.\n{}",
               tolerances.atol, tolerances.rtol, tolerances.atol, tolerances.rtol, report.to_string());
    fmt::print("gradient check {}\n", good && report.passed ? "passed" : "FAILED");
    return good && report.passed ? 0 : 1;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
