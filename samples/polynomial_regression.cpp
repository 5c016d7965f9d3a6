// Seed 000's polynomial regression (多项式模拟, Figure 9-3 and Table 9-3): x, x², …, x^d of x in [0, 1] are the
// features of a linear model z = Σ w_k x^k + b, fitted to a noisy sine y = sin(2πx) + noise for d = 1…10.
//
// Each fit goes through the graph: the loss is the mean squared error, its gradient comes from xg::grad with
// create_graph, and the Hessian from differentiating that gradient once more. The loss is quadratic in (w, b), so
// one Newton step w ← w − H⁻¹∇L from zero (xg::solve) lands on the least-squares solution, including the large
// high-degree weights gradient descent would take very long to reach; the gradient norm printed for each fit
// checks it. Prints the training and held-out error of each degree with a verdict, the weights beside the seed's
// Table 9-3, then the same fits with an L2 penalty (xg::l2_penalty), which keeps the weights small and the high
// degrees sane.
//
// The seed's pattern needs few training points, as in Bishop's example the figure comes from: by default 11 at
// evenly spaced x (the fewest that pin down a degree-10 polynomial) with noise σ = 0.1. docs/experiments.md gives
// the verdicts over 50 seeds and where they differ from the seed's, measured.
#include "sample.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>

namespace data = xg::data;

namespace {

constexpr std::size_t max_degree = 10;

// Seed 000's Table 9-3: the weights w1…wd of each degree d (the seed shows no bias).
const std::vector<std::vector<double>> seed_weights = {
    {-0.096},
    {0.826, -1.84},
    {0.823, -1.82, -0.017},
    {0.033, 9.68, -29.80, 19.85},
    {0.193, 5.03, -7.17, -16.09, 17.98},
    {0.413, -7.21, 90.05, -286.93, 327.00, -123.61},
    {0.388, -4.50, 57.84, -149.63, 62.56, 111.33, -78.31},
    {0.363, 1.61, -43.49, 458.26, -1669.06, 2646.22, -1920.56, 526.35},
    {0.376, -6.46, 131.77, -930.65, 3731.38, -8795.97, 11551.86, -7752.23, 2069.6},
    {0.363, 18.39, -532.78, 5669.0, -29316.1, 84982.2, -145853, 147000, -80265.3, 18296.6},
};

// The columns x, x², …, x^degree of one-column inputs: the seed's extra features.
xt::xarray<double> powers(const xt::xarray<float>& x, std::size_t degree) {
    xt::xarray<double> features = xt::xarray<double>::from_shape({x.shape(0), degree});
    for (std::size_t i = 0; i < x.shape(0); ++i) {
        double power = 1.0;
        for (std::size_t k = 0; k < degree; ++k) features(i, k) = power *= x(i, 0);
    }
    return features;
}

// The values of several variables laid end to end, in order.
std::vector<double> flatten(const std::vector<xg::Var>& vars) {
    std::vector<double> out;
    for (const xg::Var& v : vars) out.insert(out.end(), v.value<double>().begin(), v.value<double>().end());
    return out;
}

// ‖A‖₁·‖A⁻¹‖₁: how much the round-off of the gradient can be magnified in the weights. Near 1/ε ≈ 4.5e15, float64
// no longer pins each weight down.
double condition_number(const xt::xarray<double>& a) {
    const auto column_norm = [](const xt::xarray<double>& m) { return xt::amax(xt::sum(xt::abs(m), {0}))(); };
    const xg::Var inverse = xg::solve(xg::Var(a), xg::Var(xt::xarray<double>(xt::eye<double>(a.shape(0)))));
    return column_norm(a) * column_norm(inverse.value<double>());
}

struct Fit {
    std::size_t degree = 0;
    double lambda = 0.0;
    std::vector<double> weights;  // w1…wd
    double bias = 0.0;
    double gradient_norm = 0.0;      // ‖∇L‖ at the solution
    double hessian_condition = 0.0;  // condition number of the Hessian
    double train_mse = 0.0;          // without the penalty
    double heldout_mse = 0.0;
};

double mse_of(const xg::Var& w, const xg::Var& b, const xt::xarray<double>& features, const xt::xarray<double>& y) {
    xg::NoGradGuard no_grad;
    return xg::mse(xg::affine(xg::Var(features), w, b), xg::Var(y)).item();
}

// Least squares (plus λ/2·Σw² when lambda > 0) of a degree-d polynomial, by one Newton step from w = 0, b = 0.
Fit fit_polynomial(std::size_t degree, double lambda, const data::Dataset& train, const data::Dataset& heldout) {
    const xt::xarray<double> features = powers(train.inputs, degree);
    const xt::xarray<double> targets = xt::cast<double>(train.targets);
    const xg::Var x(features), y(targets);
    xg::Var w = xg::zeros({degree, 1}, xg::Dtype::float64).set_requires_grad();
    xg::Var b = xg::zeros({1}, xg::Dtype::float64).set_requires_grad();
    const std::vector<xg::Var> parameters = {w, b};
    // l2_penalty leaves the bias (a 1-D parameter) out, as weight decay does.
    const auto loss = [&] { return xg::mse(xg::affine(x, w, b), y) + xg::l2_penalty(parameters, lambda); };

    // The gradient as one differentiable vector over (w1…wd, b); row i of the Hessian is the gradient of its
    // entry i, which grad gives when seeded with the i-th unit vector.
    const std::vector<xg::Var> gradients = xg::grad(loss(), parameters, xg::Var(), {.create_graph = true});
    const xg::Var gradient = xg::concat({xg::reshape(gradients[0], {-1}), gradients[1]});
    const std::size_t n = degree + 1;
    xt::xarray<double> hessian = xt::xarray<double>::from_shape({n, n});
    for (std::size_t i = 0; i < n; ++i) {
        xt::xarray<double> unit = xt::zeros<double>({n});
        unit(i) = 1.0;
        const std::vector<double> row = flatten(xg::grad(gradient, parameters, xg::Var(unit), {.retain_graph = true}));
        for (std::size_t j = 0; j < n; ++j) hessian(i, j) = row[j];
    }
    const std::vector<double> gradient_values = flatten(gradients);
    const xt::xarray<double> step =
        xg::solve(xg::Var(hessian), xg::Var(xt::xarray<double>(xt::adapt(gradient_values, {n})))).value<double>();
    {
        xg::NoGradGuard no_grad;
        for (std::size_t k = 0; k < degree; ++k) w.mutable_value<double>()(k, 0) -= step(k);
        b.mutable_value<double>()(0) -= step(degree);
    }

    Fit fit;
    fit.degree = degree;
    fit.lambda = lambda;
    const std::vector<double> solution = flatten(parameters);
    fit.weights.assign(solution.begin(), solution.end() - 1);
    fit.bias = solution.back();
    double squares = 0.0;
    for (double g : flatten(xg::grad(loss(), parameters))) squares += g * g;
    fit.gradient_norm = std::sqrt(squares);
    fit.hessian_condition = condition_number(hessian);
    fit.train_mse = mse_of(w, b, features, targets);
    fit.heldout_mse = mse_of(w, b, powers(heldout.inputs, degree), xt::cast<double>(heldout.targets));
    return fit;
}

std::vector<Fit> fit_all(double lambda, const data::Dataset& train, const data::Dataset& heldout) {
    std::vector<Fit> fits;
    for (std::size_t degree = 1; degree <= max_degree; ++degree)
        fits.push_back(fit_polynomial(degree, lambda, train, heldout));
    return fits;
}

// A degree fits well when its held-out MSE is within σ²/4 of the best degree's: the noise alone costs σ² whatever
// the model, so a quarter of it is a difference worth noticing. The other degrees under-fit if they are below the
// best degree and over-fit if they are above it.
std::vector<std::string> verdicts(const std::vector<Fit>& fits, double noise_variance) {
    const auto best = std::min_element(fits.begin(), fits.end(),
                                       [](const Fit& a, const Fit& b) { return a.heldout_mse < b.heldout_mse; });
    std::vector<std::string> out;
    for (const Fit& f : fits)
        out.push_back(f.heldout_mse <= best->heldout_mse + noise_variance / 4.0 ? "good"
                      : f.degree < best->degree                                 ? "under"
                                                                                : "over");
    return out;
}

double largest_weight(const Fit& fit) {
    double largest = 0.0;
    for (double w : fit.weights) largest = std::max(largest, std::abs(w));
    return largest;
}

// "0.826", "-29.800", "-145853": three decimals while they matter, whole numbers beyond.
std::string weight_text(double w) { return std::abs(w) < 1000.0 ? fmt::format("{:.3f}", w) : fmt::format("{:.0f}", w); }

// Our weights beside the seed's in the seed's layout (a column per degree, a row per power), five degrees at a time.
void print_weight_table(const std::vector<Fit>& fits) {
    for (std::size_t first = 1; first <= max_degree; first += 5) {
        const std::size_t last = std::min(first + 4, max_degree);
        std::string header = "     ", subheader = "     ";
        for (std::size_t d = first; d <= last; ++d) {
            header += fmt::format("  {:^19}", fmt::format("degree {}", d));
            subheader += fmt::format("  {:>9} {:>9}", "seed 000", "ours");
        }
        header.erase(header.find_last_not_of(' ') + 1);
        fmt::print("{}\n{}\n", header, subheader);
        for (std::size_t k = 1; k <= last; ++k) {
            std::string row = fmt::format("  w{:<2}", k);
            for (std::size_t d = first; d <= last; ++d)
                row += k <= d ? fmt::format("  {:>9} {:>9}", weight_text(seed_weights[d - 1][k - 1]),
                                            weight_text(fits[d - 1].weights[k - 1]))
                              : fmt::format("  {:>19}", "");
            fmt::print("{}\n", row);
        }
        std::string bias_row = "  b  ";
        for (std::size_t d = first; d <= last; ++d)
            bias_row += fmt::format("  {:>9} {:>9}", "", weight_text(fits[d - 1].bias));
        fmt::print("{}\n\n", bias_row);
    }
}

// The fitted polynomials of a few degrees along x in [0, 1], over the points and the true curve. Curves are clamped
// to a band around the points, or one wild polynomial would flatten the rest.
void plot_fits(const std::vector<Fit>& fits, const data::Dataset& train, const std::string& title,
               const std::string& path) {
    std::vector<double> grid_x, truth;
    for (std::size_t i = 0; i <= 500; ++i) {
        grid_x.push_back(static_cast<double>(i) / 500.0);
        truth.push_back(std::sin(2.0 * std::numbers::pi * grid_x.back()));
    }
    const double limit = xt::amax(xt::abs(train.targets))() + 0.5;
    std::vector<xg::plot::Series> series = {
        {"training points", {train.inputs.begin(), train.inputs.end()}, {train.targets.begin(), train.targets.end()},
         true},
        {"sin(2 pi x)", grid_x, truth}};
    bool clipped = false;
    for (std::size_t degree : {1, 3, 5, 10}) {
        const Fit& f = fits[degree - 1];
        std::vector<double> curve;
        for (double x : grid_x) {
            double z = f.bias, power = 1.0;
            for (double w : f.weights) z += w * (power *= x);
            clipped = clipped || std::abs(z) > limit;
            curve.push_back(std::clamp(z, -limit, limit));
        }
        series.push_back({fmt::format("degree {}", degree), grid_x, curve});
    }
    const std::string full_title = clipped ? fmt::format("{} (curves clipped to |y| <= {:.1f})", title, limit) : title;
    xg::plot::line_chart(series, path, {full_title, "x", "y"});
}

// log10 of the training and held-out MSE against the degree, with the noise variance for reference, and for the
// L2 run the held-out MSE without the penalty beside its own. A degree that passes through every training point has
// a training MSE of nearly 0 (what is left is round-off of the solve), which would squash the chart: values a
// thousand times below σ² are drawn there.
void plot_errors(const std::vector<Fit>& fits, const std::vector<Fit>* unpenalized, double noise_variance,
                 const std::string& title, const std::string& path) {
    const double floor = std::log10(noise_variance) - 3.0;
    bool floored = false;
    const auto log_mse = [&](const std::vector<Fit>& of, double Fit::*mse) {
        std::vector<double> out;
        for (const Fit& f : of) {
            floored = floored || std::log10(f.*mse) < floor;
            out.push_back(std::max(std::log10(f.*mse), floor));
        }
        return out;
    };
    std::vector<double> degrees;
    for (const Fit& f : fits) degrees.push_back(static_cast<double>(f.degree));
    const std::string run = unpenalized ? " with L2" : "";
    std::vector<xg::plot::Series> series = {
        {"training" + run, degrees, log_mse(fits, &Fit::train_mse)},
        {"held-out" + run, degrees, log_mse(fits, &Fit::heldout_mse)},
        {"noise variance", {degrees.front(), degrees.back()}, std::vector<double>(2, std::log10(noise_variance))}};
    if (unpenalized) series.push_back({"held-out without L2", degrees, log_mse(*unpenalized, &Fit::heldout_mse)});
    xg::plot::line_chart(
        series, path,
        {floored ? fmt::format("{} (MSE below 1e{:.0f} drawn at 1e{:.0f})", title, floor, floor) : title,
         "polynomial degree", "log10(MSE)"});
}

std::string fits_csv(const std::vector<Fit>& plain, const std::vector<Fit>& penalized, double noise_variance) {
    std::string csv = "lambda,degree,train_mse,heldout_mse,verdict,gradient_norm,hessian_condition,b";
    for (std::size_t k = 1; k <= max_degree; ++k) csv += fmt::format(",w{}", k);
    csv += "\n";
    for (const std::vector<Fit>* fits : {&plain, &penalized}) {
        const std::vector<std::string> verdict = verdicts(*fits, noise_variance);
        for (const Fit& f : *fits) {
            csv += fmt::format("{:g},{},{:.9g},{:.9g},{},{:.3g},{:.3g},{:.9g}", f.lambda, f.degree, f.train_mse,
                               f.heldout_mse, verdict[f.degree - 1], f.gradient_norm, f.hessian_condition, f.bias);
            for (std::size_t k = 0; k < max_degree; ++k)
                csv += k < f.weights.size() ? fmt::format(",{:.9g}", f.weights[k]) : ",";
            csv += "\n";
        }
    }
    return csv;
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.out = "out/polynomial_regression";
    std::size_t train_points = 11;
    std::size_t heldout_points = 1000;
    double noise = 0.1;
    // The penalty is weighed against an MSE near σ² = 0.01: λ = 3e-7 makes the unpenalized high-degree weights
    // (10⁴ to 10⁶) cost far more than that, while the weights of about a hundred a sine needs cost almost nothing.
    double lambda = 3e-7;
    bool random_x = false;
    CLI::App app("Seed 000's polynomial regression: degrees 1-10 on a noisy sine, fitted by Newton's method through "
                 "the graph, with and without an L2 penalty");
    app.add_option("--train-points", train_points, "training points (degree 10 needs at least 11)")
        ->check(CLI::Range(std::size_t{11}, std::size_t{1000000}))
        ->capture_default_str();
    app.add_option("--heldout-points", heldout_points, "held-out points (x uniform in [0, 1)) that score each fit")
        ->check(sample::whole_number(1))
        ->capture_default_str();
    app.add_option("--noise", noise, "standard deviation of the noise on sin(2πx)")
        ->check(sample::positive())
        ->capture_default_str();
    app.add_option("--lambda", lambda, "λ of the L2 penalty λ/2·Σw² in the second run")
        ->check(sample::positive())
        ->capture_default_str();
    app.add_flag("--random-x", random_x, "draw the training x uniformly at random instead of evenly spaced");
    app.add_option("--seed", flags.seed, "seed of the noise and of the held-out points")
        ->check(sample::whole_number(0))
        ->capture_default_str();
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    xg::Generator generator(flags.seed);
    const data::Dataset train = random_x ? data::make_sine(train_points, generator, noise)
                                         : data::make_sine(train_points, generator, noise, true);
    const data::Dataset heldout = data::make_sine(heldout_points, generator, noise);
    const double noise_variance = noise * noise;
    fmt::print("y = sin(2πx) + N(0, {}²): {} training points at {} x in [0, 1], {} held-out points at random x\n\n",
               noise, train_points, random_x ? "random" : "evenly spaced", heldout_points);

    const std::vector<Fit> plain = fit_all(0.0, train, heldout);
    const std::vector<std::string> verdict = verdicts(plain, noise_variance);
    fmt::print("least squares by one Newton step from w = 0; ‖∇L‖ is the gradient left at the fit, cond(H) the\n"
               "Hessian's condition number\n");
    fmt::print("degree   train MSE   held-out MSE    ‖∇L‖     cond(H)   verdict\n");
    for (const Fit& f : plain)
        fmt::print("{:>6}   {:>9.5f}   {:>12.5f}   {:>7.1e}   {:>7.1e}   {}\n", f.degree, f.train_mse, f.heldout_mse,
                   f.gradient_norm, f.hessian_condition, verdict[f.degree - 1]);
    fmt::print("verdict: good when the held-out MSE is within σ²/4 = {:.5f} of the best degree's; worse degrees below\n"
               "the best are under-fitting, above it over-fitting. Seed 000: 1-3 under, 4-7 good, 8-10 over.\n",
               noise_variance / 4.0);
    fmt::print("float64 carries about 16 digits: as cond(H) nears 1e16, round-off hides the Hessian's flattest\n"
               "directions, and a ‖∇L‖ at round-off level no longer means the weights are exact.\n\n");

    fmt::print("weights w1…wd (and our bias b) beside seed 000's Table 9-3. The seed fitted its book's sine data, not\n"
               "ours, so only the pattern compares: the weights grow with the degree.\n\n");
    print_weight_table(plain);

    const std::vector<Fit> penalized = fit_all(lambda, train, heldout);
    const std::vector<std::string> penalized_verdict = verdicts(penalized, noise_variance);
    fmt::print("the same fits with an L2 penalty λ/2·Σw², λ = {:g}, added to the loss (the bias is not penalized)\n",
               lambda);
    fmt::print("degree     largest |w|              held-out MSE        train MSE    ‖∇L‖     verdict\n");
    fmt::print("          plain     with L2        plain     with L2     with L2    with L2   with L2\n");
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const Fit &p = plain[i], &l = penalized[i];
        fmt::print("{:>6}   {:>9} {:>9}   {:>10.5f}  {:>10.5f}   {:>9.5f}   {:>7.1e}   {}\n", p.degree,
                   weight_text(largest_weight(p)), weight_text(largest_weight(l)), p.heldout_mse, l.heldout_mse,
                   l.train_mse, l.gradient_norm, penalized_verdict[i]);
    }

    xg::write_file(sample::output_file(flags, "fits.csv"), fits_csv(plain, penalized, noise_variance));
    const std::string with_l2 = fmt::format("with L2, lambda = {:g}", lambda);
    plot_fits(plain, train, "least squares", sample::output_file(flags, "fits.svg"));
    plot_fits(penalized, train, with_l2, sample::output_file(flags, "fits_l2.svg"));
    plot_errors(plain, nullptr, noise_variance, "error against degree, least squares",
                sample::output_file(flags, "errors.svg"));
    plot_errors(penalized, &plain, noise_variance, "error against degree, " + with_l2,
                sample::output_file(flags, "errors_l2.svg"));
    fmt::print("\nwrote fits.csv, fits.svg, fits_l2.svg, errors.svg and errors_l2.svg in {}\n", flags.out);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
