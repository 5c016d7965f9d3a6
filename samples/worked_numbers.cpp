// Every small worked number of the seed notes (000, 001, 003, 004) recomputed with xgrad in float64, beside the
// number the seed prints: sigmoid saturation, numeric against backward derivatives (and how their error falls with
// h), the hand-weighted networks, softmax, the losses, simpleNet's gradient, directional derivatives, gradient
// ascent and descent, ReLU's backward, the binary metrics, learning rate against batch size, exponentially weighted
// averages, batch norm's identity and the bias/variance table. Every derivative comes from the graph (backward or
// xg::grad), never from a formula written by hand. A row agrees when ours is within half a unit of the seed's last
// printed digit; rows where the seed itself slipped say so, and say what it should read. Writes
// worked_numbers.csv (every row), difference_error.csv and difference_error.svg (error of forward and central
// differences against h).
#include "sample.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using xg::Var;
using Values = std::vector<double>;
using Matrix = xt::xarray<double>;

const std::string seed000 = "000_ff2fee5a5c32986b.txt";
const std::string seed001 = "001_7eed3367693f14de.txt";
const std::string seed003 = "003_dd246e5ea23942d8.txt";
const std::string seed004 = "004_02061ef9b1fca2ec.txt";

Values values(const Matrix& a) { return {a.begin(), a.end()}; }
Values values(const Var& x) { return values(x.value<double>()); }

// A figure as the seed prints it ("0.898368", "[0.3 0.7 1.1]", "(12, 12)"): its numbers and how many decimals each
// was printed with.
struct Printed {
    std::vector<std::string> tokens;
    Values numbers;
    std::vector<int> decimals;
    bool vector = false;
};

Printed parse(const std::string& text) {
    Printed printed;
    std::string spaced = text;
    for (char& c : spaced) {
        if (c == '[' || c == '(') printed.vector = true;
        if (c == '[' || c == ']' || c == '(' || c == ')' || c == ',') c = ' ';
    }
    std::istringstream tokens(spaced);
    for (std::string token; tokens >> token;) {
        printed.tokens.push_back(token);
        printed.numbers.push_back(std::stod(token));
        const auto point = token.find('.');
        printed.decimals.push_back(point == std::string::npos ? 0 : static_cast<int>(token.size() - point - 1));
    }
    return printed;
}

// The seed's figure as it printed it, one space between numbers.
std::string show(const Printed& seed) {
    std::string text;
    for (std::size_t i = 0; i < seed.tokens.size(); ++i) text += (i ? " " : "") + seed.tokens[i];
    return seed.vector ? "[" + text + "]" : text;
}

// Numbers printed the way the seed printed `shape`: the same decimals, brackets for a vector.
std::string show(const Printed& shape, const Values& numbers) {
    std::string text;
    for (std::size_t i = 0; i < numbers.size(); ++i)
        text += fmt::format("{}{:.{}f}", i ? " " : "", numbers[i] == 0 ? 0.0 : numbers[i], shape.decimals[i]);
    return shape.vector ? "[" + text + "]" : text;
}

std::string full(const Values& numbers) {
    std::string text;
    for (std::size_t i = 0; i < numbers.size(); ++i) text += fmt::format("{}{}", i ? " " : "", numbers[i]);
    return text;
}

// Within half a unit of the seed's last printed digit (and a hair more, so that a value exactly on a rounding
// boundary is not lost to its binary representation), plus `slack`.
bool agrees(const Printed& seed, const Values& ours, double slack) {
    if (ours.size() != seed.numbers.size())
        throw std::logic_error(fmt::format("{} numbers compared with the seed's {}", ours.size(), seed.numbers.size()));
    for (std::size_t i = 0; i < ours.size(); ++i)
        if (!(std::abs(ours[i] - seed.numbers[i]) <= 0.5 * std::pow(10.0, -seed.decimals[i]) * (1 + 1e-9) + slack))
            return false;
    return true;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

// The rows, on the screen grouped by item and in worked_numbers.csv, and the count of agreements.
class Table {
public:
    explicit Table(const std::string& csv_path)
        : csv_path_(csv_path), csv_("item,seed_file,quantity,seed,ours,ours_full,verdict,note\n") {}

    void group(const std::string& item, const std::string& seed_file, const std::string& where) {
        item_ = item;
        seed_file_ = seed_file;
        fmt::print("\n{} ({}, {})\n  {:<40} {:<36} {:<36} {}\n", item, seed_file, where, "quantity", "seed", "ours",
                   "agrees");
    }

    /// A figure of the seed against ours; `slack` widens the tolerance, and `note` must then say why.
    void check(const std::string& quantity, const std::string& seed, const Values& ours, const std::string& note = "",
               double slack = 0.0) {
        const Printed printed = parse(seed);
        const bool same = agrees(printed, ours, slack);
        ++compared_;
        agreed_ += same;
        row(quantity, show(printed), show(printed, ours), full(ours), same ? "yes" : "NO", note);
    }

    /// A figure the seed got wrong: ours must differ from it and agree with what it should read.
    void slip(const std::string& quantity, const std::string& seed, const std::string& should_read, const Values& ours,
              const std::string& reason) {
        const Printed printed = parse(seed);
        const bool is_slip = !agrees(printed, ours, 0.0) && agrees(parse(should_read), ours, 0.0);
        // A slip that is not one counts as a disagreement.
        (is_slip ? slips_ : compared_) += 1;
        row(quantity, show(printed), show(parse(should_read), ours), full(ours), is_slip ? "seed slip" : "NO",
            "should read " + should_read + ": " + reason);
    }

    /// A verdict in words against the seed's.
    void words(const std::string& quantity, const std::string& seed, const std::string& ours,
               const std::string& note = "") {
        ++compared_;
        agreed_ += seed == ours;
        row(quantity, seed, ours, ours, seed == ours ? "yes" : "NO", note);
    }

    /// A number the seed states no figure for.
    void ours_only(const std::string& quantity, const std::string& ours, const std::string& note = "") {
        ++without_seed_;
        row(quantity, "-", ours, ours, "(no seed figure)", note);
    }

    void remark(const std::string& text) {
        fmt::print("  * {}\n", text);
        csv_ += fmt::format("{},{},,,,,remark,{}\n", csv_field(item_), csv_field(seed_file_), csv_field(text));
    }

    /// Prints the count and writes the CSV; true when every compared row agrees.
    bool finish() {
        fmt::print("\n{} of {} agree ({} seed slips shown above and not counted; {} rows without a seed figure)\n",
                   agreed_, compared_, slips_, without_seed_);
        xg::write_file(csv_path_, csv_);
        return agreed_ == compared_;
    }

private:
    void row(const std::string& quantity, const std::string& seed, const std::string& ours,
             const std::string& ours_full, const std::string& verdict, const std::string& note) {
        fmt::print("  {:<40} {:<36} {:<36} {}\n", quantity, seed, ours, verdict);
        if (!note.empty()) fmt::print("  {:<40} ^ {}\n", "", note);
        csv_ += fmt::format("{},{},{},{},{},{},{},{}\n", csv_field(item_), csv_field(seed_file_), csv_field(quantity),
                            csv_field(seed), csv_field(ours), csv_field(ours_full), verdict, csv_field(note));
    }

    std::string csv_path_;
    std::string csv_;  // written whole by finish
    std::string item_, seed_file_;
    int agreed_ = 0, compared_ = 0, slips_ = 0, without_seed_ = 0;
};

// Least-squares slope of y against x.
double slope(const Values& x, const Values& y) {
    double mean_x = 0, mean_y = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        mean_x += x[i] / static_cast<double>(x.size());
        mean_y += y[i] / static_cast<double>(y.size());
    }
    double xy = 0, xx = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        xy += (x[i] - mean_x) * (y[i] - mean_y);
        xx += (x[i] - mean_x) * (x[i] - mean_x);
    }
    return xy / xx;
}

}  // namespace

int run(int argc, char** argv) {
    sample::Flags flags;
    flags.out = "out/worked_numbers";
    CLI::App app("Every small worked number of seeds 000, 001, 003 and 004, recomputed beside the seed's");
    sample::add_out_flag(app, flags);
    CLI11_PARSE(app, argc, argv);

    Table table(sample::output_file(flags, "worked_numbers.csv"));

    {
        table.group("1. Sigmoid saturation, learning rate 0.2 from a = 0.9", seed000, "lines 200-222");
        // z <- z - 0.2·da/dz, with da/dz = a(1 - a) taken from backward, until a drops below 0.5.
        double z = std::log(9.0), first_delta = 0.0;
        Values a;  // a[k]: the sigmoid after k steps
        for (;;) {
            const Var input(z, true);
            const Var output = xg::sigmoid(input);
            a.push_back(output.item());
            if (a.back() < 0.5) break;
            output.backward();
            const double delta = input.grad().item();
            if (a.size() == 1) first_delta = delta;
            z -= 0.2 * delta;
        }
        const double steps = static_cast<double>(a.size() - 1);
        table.check("a at z = ln 9", "0.9", {a[0]});
        table.check("delta = da/dz at a = 0.9 (backward)", "0.09", {first_delta});
        table.check("first change of z, 0.2 * delta", "0.018", {0.2 * first_delta});
        table.check("a after step 1", "0.898368", {a[1]}, fmt::format("ours in full: {}", a[1]));
        table.check("steps to approach 0.5", "67", {steps});
        const double before = a[a.size() - 2], after = a.back();
        table.remark(fmt::format("stopping rule: stop at the first a < 0.5; a = {:.4f} after {} steps, {:.4f} after "
                                 "{}, so any threshold in ({:.4f}, {:.4f}] gives 67, e.g. |a - 0.5| < 0.01",
                                 before, a.size() - 2, after, a.size() - 1, after, before));
    }

    {
        table.group("2. Numeric derivatives against backward", seed000 + " and " + seed003,
                    "000 lines 540-550, 003 lines 740-800");
        const auto f = [](const Var& x) { return xg::pow(x, 2.0) + 3.0 * x; };
        const double h = 0.001;
        const Var x(2.0, true);
        f(x).backward();
        table.check("f(x+h), f = x^2 + 3x, x = 2, h = 0.001", "10.007001", {f(Var(2.0 + h)).item()});
        table.check("f(x-h)", "9.993001", {f(Var(2.0 - h)).item()});
        table.check("(f(x+h) - f(x-h)) / 2h", "7", values(xg::numerical_gradient(f, Var(2.0), h)));
        table.check("f'(2) from backward", "7", {x.grad().item()});

        // Seed 003's function_1 with its numerical_diff (h = 1e-4, central), which it prints at full precision.
        const auto f1 = [](const Var& x) { return 0.01 * xg::pow(x, 2.0) + 0.1 * x; };
        const Var x1(10.0, true);
        f1(x1).backward();
        table.slip("central diff. of 0.01x^2 + 0.1x at 10", "0.29999999999986347", "0.2999999999986347",
                   values(xg::numerical_gradient(f1, Var(10.0), 1e-4)),
                   "the seed's print has one 9 too many; Python runs its code to this, as we do");
        table.check("its derivative from backward", "0.29999999999986347", {x1.grad().item()},
                    "slack 1e-10: the seed's figure is a central difference, off the true 0.3 by rounding", 1e-10);
    }

    {
        table.group("3. Error of forward and central differences against h", seed000, "lines 500-530");
        // Sigmoid at z = ln 9 (item 1's point), where sigma'' = -0.072 and sigma''' = 0.041 are both non-zero, so
        // the O(h) and O(h^2) terms both show. (For x^2 + 3x the third derivative is 0 and the central difference
        // is exact but for rounding.)
        const double z0 = std::log(9.0);
        const auto f = [](const Var& z) { return xg::sigmoid(z); };
        const Var z(z0, true);
        f(z).backward();
        const double exact = z.grad().item();

        Values hs, forward_error, central_error;
        for (int k = 4; k <= 32; ++k) {  // h = 1e-1 ... 1e-8, four per decade
            const double h = std::pow(10.0, -k / 4.0);
            const double forward = (f(Var(z0 + h)).item() - f(Var(z0)).item()) / h;
            const double central = xg::numerical_gradient(f, Var(z0), h).item();
            hs.push_back(h);
            forward_error.push_back(std::abs(forward - exact));
            central_error.push_back(std::abs(central - exact));
        }
        const auto log10_of = [](Values v) {
            for (double& x : v) x = std::log10(x);
            return v;
        };
        const Values log_h = log10_of(hs), log_forward = log10_of(forward_error), log_central = log10_of(central_error);
        // Fit where truncation dominates, the first 13 points (h from 1e-1 down to 1e-4): below, rounding (about
        // 1e-16/h) takes over.
        const auto first13 = [](const Values& v) { return Values(v.begin(), v.begin() + 13); };
        const double p_forward = slope(first13(log_h), first13(log_forward));
        const double p_central = slope(first13(log_h), first13(log_central));
        table.check("forward difference: error ~ h^p, p", "1", {p_forward},
                    fmt::format("fitted over h in [1e-4, 1e-1]: {:.4f}", p_forward));
        table.check("central difference: error ~ h^p, p", "2", {p_central},
                    fmt::format("fitted over h in [1e-4, 1e-1]: {:.4f}", p_central));

        table.remark(fmt::format("d sigma/dz at ln 9 from backward: {}; error |numeric - backward|:", exact));
        table.remark("       h   forward error   central error");
        for (std::size_t i = 0; i < hs.size(); i += 4)
            table.remark(fmt::format("{:8.0e}  {:14.3e}  {:14.3e}", hs[i], forward_error[i], central_error[i]));
        const std::string csv_path = sample::output_file(flags, "difference_error.csv");
        std::string csv = "h,forward_error,central_error\n";
        for (std::size_t i = 0; i < hs.size(); ++i)
            csv += fmt::format("{:.6g},{:.6e},{:.6e}\n", hs[i], forward_error[i], central_error[i]);
        xg::write_file(csv_path, csv);
        xg::plot::line_chart({{fmt::format("forward difference (slope {:.2f})", p_forward), hs, forward_error},
                              {fmt::format("central difference (slope {:.2f})", p_central), hs, central_error}},
                             sample::output_file(flags, "difference_error.svg"),
                             {"error of numeric derivatives of sigmoid at ln 9", "h", "|numeric - backward|", true,
                              true});
    }

    {
        table.group("4. Hand-weighted forward passes", seed003, "lines 40-170");
        struct Layer {
            Matrix weight, bias;
        };
        // sigmoid, sigmoid, identity, as the seed's network; returns A1, Z1, A2, Z2, Y.
        const auto forward = [](const Matrix& x, const std::vector<Layer>& layers) {
            const Var a1 = xg::affine(Var(x), Var(layers[0].weight), Var(layers[0].bias));
            const Var z1 = xg::sigmoid(a1);
            const Var a2 = xg::affine(z1, Var(layers[1].weight), Var(layers[1].bias));
            const Var z2 = xg::sigmoid(a2);
            return std::vector<Var>{a1, z1, a2, z2, xg::affine(z2, Var(layers[2].weight), Var(layers[2].bias))};
        };
        const auto first = forward({{1.0, 0.5}}, {{{{0.1, 0.3, 0.5}, {0.2, 0.4, 0.6}}, {0.1, 0.2, 0.3}},
                                                  {{{0.1, 0.4}, {0.2, 0.5}, {0.3, 0.6}}, {0.1, 0.2}},
                                                  {{{0.1, 0.3}, {0.2, 0.4}}, {0.1, 0.2}}});
        table.check("A1 = x W1 + B1", "[0.3, 0.7, 1.1]", values(first[0]));
        table.check("Z1 = sigmoid(A1)", "[0.57444252, 0.66818777, 0.75026011]", values(first[1]));
        table.check("A2 = Z1 W2 + B2", "[0.51615984, 1.21402696]", values(first[2]));
        table.check("Z2 = sigmoid(A2)", "[0.62624937, 0.7710107 ]", values(first[3]));
        table.check("Y = Z2 W3 + B3", "[0.31682708, 0.69627909]", values(first[4]));
        const auto second = forward({{0.5, 0.2}}, {{{{0.1, 0.2, 0.8}, {0.2, 0.1, 0.8}}, {0.2, 0.2, 0.3}},
                                                   {{{0.2, 0.1}, {0.5, 0.2}, {0.7, 0.8}}, {0.3, 0.5}},
                                                   {{{0.3, 0.2}, {0.1, 0.4}}, {0.2, 0.3}}});
        table.check("SimpleNero(x = [0.5, 0.2]).forword()", "[0.50781228 0.76345024]", values(second[4]));
        table.remark("the seed's forword() returns the global Y of the first network, which would print "
                     "[0.31682708 0.69627909]; the printed numbers are the true output of SimpleNero's own weights");
    }

    {
        table.group("5. The sigmoid table", seed003, "lines 28-36");
        const Values seed = values(xg::sigmoid(Var(Matrix{-5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0})));
        const char* printed[] = {"0.00669285", "0.01798621", "0.04742587", "0.11920292", "0.26894142",
                                 "0.5",        "0.73105858", "0.88079708", "0.95257413", "0.98201379"};
        for (int i = 0; i < 10; ++i) table.check(fmt::format("sigmoid({})", i - 5), printed[i], {seed[i]});
    }

    {
        table.group("6. Softmax", seed003 + " and " + seed004, "003 line 200, 004 section 3.4");
        const Var y = xg::softmax(Var(Matrix{0.3, 2.9, 4.0}));
        table.check("softmax([0.3, 2.9, 4])", "[0.01821127 0.24519181 0.73659691]", values(y));
        table.check("its sum", "1.0", {xg::sum(y).item()});
        const Var z(Matrix{5.0, 2.0, -1.0, 3.0});
        table.check("exp([5, 2, -1, 3]) (004)", "[148.4, 7.4, 0.4, 20.1]", values(xg::exp(z)));
        table.check("softmax([5, 2, -1, 3]) (004)", "[0.842, 0.042, 0.002, 0.114]", values(xg::softmax(z)));
    }

    {
        table.group("7. Losses", seed003, "lines 590-720");
        // The seed's cross_entropy_e: -sum(t log(y + 1e-7)) / rows, and mean_squared_e: sum((y - t)^2) / 2.
        const auto cross_entropy = [](const Var& t, const Var& y) {
            return -xg::sum(t * xg::log(y + 1e-7)) / static_cast<double>(t.dim() == 2 ? t.shape()[0] : 1);
        };
        const Var t(Matrix{0, 0, 1, 0, 0, 0, 0, 0, 0});
        const Var y(Matrix{0.1, 0.05, 0.6, 0, 0.05, 0.1, 0, 0.1, 0});
        table.ours_only("cross-entropy e1 (t one-hot at 2, y 0.6)", fmt::format("{}", cross_entropy(t, y).item()),
                        "the seed shows `e1` without its value; it is -log(0.6 + 1e-7) = 0.5108");
        table.check("CE of [[0,1,0,0]] and [[.2,.4,.3,.1]]", "0.9162904818741863",
                    {cross_entropy(Var(Matrix{{0, 1, 0, 0}}), Var(Matrix{{0.2, 0.4, 0.3, 0.1}})).item()});
        table.slip("mean_squared_e(t, y), sum((y - t)^2) / 2", "0.097500000000000003", "0.09750000000000003",
                   {(xg::sum(xg::pow(y - t, 2.0)) / 2.0).item()},
                   "the seed's print has one 0 too many; numpy's sum and a plain loop both give this, as we do");
    }

    {
        table.group("8. simpleNet: one softmax layer, its loss and gradient", seed003, "lines 1560-1660");
        const Var w(Matrix{{0.94988364, 1.46592983, -1.32950342}, {-0.00235879, -1.1279907, -0.22443244}}, true);
        const Var x(Matrix{{0.6, 0.9}});
        const Var t(Matrix{{0.0, 1.0, 0.0}});
        const Var a = xg::matmul(x, w);
        const Var y = xg::softmax(a);
        const Var loss = -xg::sum(t * xg::log(y + 1e-7));  // the book's cross_entropy_error, a batch of one
        loss.backward();
        const Var dw = w.grad();
        const Var w_new = w.detach() - 0.01 * dw;
        // W is printed to 8 decimals (±5e-9 each), which moves x·W by up to 7.5e-9 and what follows about as much.
        const double slack = 1.5e-8;
        const std::string why = "slack 1.5e-8: the seed prints W to 8 decimals only";
        const auto row = [](const Var& m, std::size_t r) { return values(xg::slice(m, 0, r, r + 1)); };
        const Values probabilities = values(y);
        table.check("A = x W", "[ 0.56780727 -0.13563373 -0.99969124]", values(a), why, slack);
        table.check("softmax(A)", "[0.58704541 0.29051673 0.12243786]", probabilities, why, slack);
        table.check("predicted digit (argmax)", "0",
                    {static_cast<double>(std::max_element(probabilities.begin(), probabilities.end()) -
                                         probabilities.begin())});
        table.check("loss -log(y[1] + 1e-7)", "1.2360937650969104", {loss.item()}, why, slack);
        const std::string numeric = why + "; the seed's dW is a central difference";
        table.check("dW row 1 (ours from backward)", "[ 0.35222712 -0.42568981 0.07346269]", row(dw, 0), numeric,
                    slack);
        table.check("dW row 2", "[ 0.52834068 -0.63853472  0.11019404]", row(dw, 1), numeric, slack);
        table.check("W_new = W - 0.01 dW, row 1", "[ 0.94636137  1.47018673 -1.33023804]", row(w_new, 0), why, slack);
        table.check("W_new row 2", "[-0.0076422  -1.12160535 -0.22553438]", row(w_new, 1), why, slack);
        // The seed's own figures: its printed W_new is its printed W minus 0.01 times its printed dW.
        const Var seed_dw(Matrix{{0.35222712, -0.42568981, 0.07346269}, {0.52834068, -0.63853472, 0.11019404}});
        const Var seed_step = w.detach() - 0.01 * seed_dw;
        table.check("seed's W - 0.01 * seed's dW, row 1", "[ 0.94636137  1.47018673 -1.33023804]", row(seed_step, 0),
                    "slack 1.5e-8: the seed prints W and dW to 8 decimals only", slack);
        table.check("seed's W - 0.01 * seed's dW, row 2", "[-0.0076422  -1.12160535 -0.22553438]", row(seed_step, 1),
                    "slack 1.5e-8: the seed prints W and dW to 8 decimals only", slack);
    }

    {
        table.group("9. Directional derivatives", seed003, "lines 1040-1130");
        // The mountain z = 5 - x^2 - 2y^2 at (1.5, -1), as the seed's code has it (its text says -3/2).
        const Var x(1.5, true), y(-1.0, true);
        const std::vector<Var> g = xg::grad(5.0 - xg::pow(x, 2.0) - 2.0 * xg::pow(y, 2.0), {x, y});
        table.check("gradient of 5 - x^2 - 2y^2 at (1.5, -1)", "[-3.  4.]", {g[0].item(), g[1].item()});
        table.check("steepest slope |gradient|", "5.0", {xg::sqrt(g[0] * g[0] + g[1] * g[1]).item()});

        const Var m1(Matrix{1.0, 1.0, 1.0}, true);
        const Var m2(Matrix{2.0, 3.0, 3.0});
        xg::log(xg::sum(xg::pow(m1, 2.0))).backward();
        const Var l = m2 - m1.detach();
        const Var e = l / xg::sqrt(xg::sum(xg::pow(l, 2.0)));
        table.check("l = M2 - M1", "[1 2 2]", values(l));
        table.check("unit direction e_l", "[0.33333333 0.66666667 0.66666667]", values(e));
        table.check("gradient of ln(x^2+y^2+z^2) at M1", "[0.66666667 0.66666667 0.66666667]", values(m1.grad()));
        table.check("directional derivative gradient . e_l", "1.1111111111111112", {xg::sum(m1.grad() * e).item()});
    }

    {
        table.group("10. Gradient ascent and descent on x^2 + y^2", seed003, "lines 1210-1340");
        const auto f = [](const Var& p) { return xg::sum(xg::pow(p, 2.0)); };
        const auto gradient_at = [&](const Matrix& point) {
            const Var p(point, true);
            return Matrix(xg::grad(f(p), {p})[0].value<double>());
        };
        // Three steps of ascent with rate 1 from (6, 6), as the seed's text does them.
        const Matrix start{6.0, 6.0};
        table.check("gradient at (6, 6)", "(12, 12)", values(gradient_at(start)),
                    "the seed says it substitutes x0 = y0 = 0, but (12, 12) is the gradient at (6, 6)");
        const Matrix step1 = start + gradient_at(start);
        table.slip("ascent step 1: (6, 6) + gradient", "(24, 24)", "(18, 18)", values(step1),
                   "the seed adds 18 where the gradient is 12");
        table.slip("gradient at the seed's (24, 24)", "(46, 46)", "(48, 48)", values(gradient_at({24.0, 24.0})),
                   "2 x 24 = 48");
        const Matrix step2 = step1 + gradient_at(step1);
        const Matrix step3 = step2 + gradient_at(step2);
        table.ours_only("ascent step 2, from (18, 18)", fmt::format("[{} {}]", step2(0), step2(1)),
                        "the seed leaves it at (24, 24) + (46, 46)");
        table.ours_only("ascent step 3", fmt::format("[{} {}]", step3(0), step3(1)));

        // The seed's descent loop: 1000 steps of rate 0.01 from (6, 6); it prints no result.
        Matrix point = start;
        for (int i = 0; i < 1000; ++i) point = point - 0.01 * gradient_at(point);
        table.ours_only("descent, 1000 steps of 0.01 from (6, 6)",
                        fmt::format("[{:.6e} {:.6e}]", point(0), point(1)),
                        fmt::format("each step scales the point by 0.98: 6 * 0.98^1000 = {:.6e}",
                                    6 * std::pow(0.98, 1000)));
        table.remark("as printed, the seed's loop body sits under `if i > 0`, so point[0] stays (0, 0) and so would "
                     "every later point; the run above is the one it means");

        // The seed's numerical_gradient called on integer arrays: numpy stores x_i + 1e-4 as x_i and x_i - 1e-4 as
        // x_i - 1 (for x_i >= 1), and its result d_x is an integer array too.
        const double h = 1e-4;
        const auto seed_integer_gradient = [&](double at) {
            Values g;
            for (std::size_t i = 0; i < 2; ++i) {
                Matrix plus{at, at}, minus{at, at};
                plus(i) = std::trunc(at + h);
                minus(i) = std::trunc(at - h);
                g.push_back(std::trunc((f(Var(plus)).item() - f(Var(minus)).item()) / (2 * h)));
            }
            return g;
        };
        const auto norm = [](const Values& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1]); };
        const std::string integer = "the seed's xs are integer arrays, which truncate x +- 1e-4 (rows below)";
        const Values at0 = values(gradient_at({0.0, 0.0}));
        table.check("gradient of x0^2 + x1^2 at (0, 0)", "[0 0]", at0);
        table.check("its norm", "0.0", {norm(at0)});
        table.slip("gradient at (1, 1)", "[5000 5000]", "[2 2]", values(gradient_at({1.0, 1.0})), integer);
        table.slip("gradient at (2, 2)", "[15000 15000]", "[4 4]", values(gradient_at({2.0, 2.0})), integer);
        const Values at1 = seed_integer_gradient(1.0), at2 = seed_integer_gradient(2.0);
        table.check("integer-array differences at (1, 1)", "[5000 5000]", at1);
        table.check("their norm", "7071.067811865475", {norm(at1)});
        table.check("integer-array differences at (2, 2)", "[15000 15000]", at2);
        table.check("their norm", "21213.203435596424", {norm(at2)});
        table.remark("np.array([1, 1]) holds integers: 1 + 1e-4 is stored as 1 and 1 - 1e-4 as 0, so the seed "
                     "divides f(1, 1) - f(0, 1) = 1 by 2e-4; float arrays give the true gradient (2x0, 2x1)");
    }

    {
        table.group("11. ReLU layer forward and backward", seed003, "lines 2130-2160");
        const Var x(Matrix{9.0, -1.0, 1.0, 3.0}, true);
        const Var y = xg::relu(x);
        y.backward(Var(Matrix{8.0, 1.0, -1.0, 0.0}));
        table.check("relu([9, -1, 1, 3])", "[9 0 1 3]", values(y));
        table.check("backward of dout = [8, 1, -1, 0]", "[ 8  0 -1  0]", values(x.grad()));
    }

    {
        table.group("12. Binary metrics from a confusion matrix", seed000, "lines 1-75");
        std::vector<std::size_t> labels;
        xg::metrics::Predictions predicted;
        const auto add = [&](std::size_t label, std::size_t prediction, std::size_t count) {
            labels.insert(labels.end(), count, label);
            predicted.insert(predicted.end(), count, prediction);
        };
        add(1, 1, 521);
        add(1, 0, 29);
        add(0, 1, 15);
        add(0, 0, 435);
        const xg::metrics::ConfusionMatrix m(predicted, labels);
        table.check("TP FN FP TN", "[521 29 15 435]",
                    {static_cast<double>(m.true_positives(1)), static_cast<double>(m.false_negatives(1)),
                     static_cast<double>(m.false_positives(1)), static_cast<double>(m.true_negatives(1))});
        table.check("accuracy", "0.956", {m.accuracy()});
        table.check("precision", "0.972", {m.precision(1)});
        table.check("recall = TPR", "0.947", {m.recall(1)});
        table.check("FPR", "0.033", {m.fpr(1)});
        table.check("F1", "0.959", {m.f1(1)}, "the seed's F1 uses its rounded 0.972 and 0.947, ours the counts");
    }

    {
        table.group("13. Learning rate against batch size", seed000 + " and " + seed001,
                    "000 lines 735-770, 001 section 12.4");
        // The red line z = w x, w = 0.5, against points on the green line y = 0 one grid unit apart, so that the
        // residuals are the seed's (1, 0, 1) and (1, 0.5, 0, 0.5, 1); loss = sum((z - y)^2) / 2m.
        const auto loss_and_slope = [](const Matrix& xs) {
            const Var w(0.5, true);
            const Var loss = xg::sum(xg::pow(w * Var(xs) - Var(Matrix(xt::zeros_like(xs))), 2.0)) /
                             (2.0 * static_cast<double>(xs.size()));
            loss.backward();
            return Values{loss.item(), w.grad().item()};
        };
        const Values three = loss_and_slope({-2.0, 0.0, 2.0}), five = loss_and_slope({-2.0, -1.0, 0.0, 1.0, 2.0});
        table.check("loss, 3 points, residuals 1 0 1", "0.333", {three[0]});
        table.check("eta1 = 0.5 / loss", "1.5", {0.5 / three[0]});
        table.check("loss, 5 points, residuals 1 .5 0 .5 1", "0.25", {five[0]});
        table.check("eta2 = 0.5 / loss", "2", {0.5 / five[0]});
        table.slip("001: (1+.25^2+0+.25^2+1) / (2*5)", "0.25", "0.2125",
                   {(xg::sum(xg::pow(Var(Matrix{1.0, 0.25, 0.0, 0.25, 1.0}), 2.0)) / 10.0).item()},
                   "001 writes 0.25^2 where 000 has 0.5^2; 0.25 is the value of 000's sum");
        table.ours_only("dL/dw (backward), 3 and 5 points", fmt::format("[{:.4f} {:.4f}]", three[1], five[1]),
                        fmt::format("a real step to w = 0 needs rates {} and {}: the same ratio 4/3 as 1.5 and 2, "
                                    "since dL/dw = 2 loss / w for a line through the origin",
                                    0.5 / three[1], 0.5 / five[1]));
    }

    {
        table.group("14. Exponentially weighted averages", seed004, "section 2.2");
        const struct {
            double beta;
            const char* days;
        } windows[] = {{0.9, "10"}, {0.98, "50"}, {0.5, "2"}};
        for (const auto& w : windows)
            table.check(fmt::format("window 1 / (1 - beta), beta = {}", w.beta), w.days, {1.0 / (1.0 - w.beta)});
        // V0 = 0, Vt = beta V(t-1) + (1 - beta) theta_t: the weight of each theta in V2 is dV2/dtheta.
        const double beta = 0.98;
        const Var theta1(1.0, true), theta2(1.0, true);
        Var v(0.0);
        for (const Var& theta : {theta1, theta2}) v = beta * v + (1.0 - beta) * theta;
        const std::vector<Var> weights = xg::grad(v, {theta1, theta2}, Var(), {.retain_graph = true});
        table.check("dV2/dtheta1, beta = 0.98 (backward)", "0.0196", {weights[0].item()});
        table.check("dV2/dtheta2", "0.02", {weights[1].item()});
        const std::vector<Var> corrected = xg::grad(v / (1.0 - beta * beta), {theta1, theta2});
        table.ours_only("the same for V2 / (1 - beta^2)",
                        fmt::format("[{:.6f} {:.6f}]", corrected[0].item(), corrected[1].item()),
                        fmt::format("bias correction: they sum to {}, a true weighted mean",
                                    corrected[0].item() + corrected[1].item()));
    }

    {
        table.group("15. Batch norm can undo itself", seed004, "section 3.2");
        // With gamma = sqrt(sigma^2 + eps) and beta = mu, BatchNorm1d (training mode, batch statistics) gives z back.
        xg::Generator generator(0);
        const Var z = xg::randn({8, 3}, generator, xg::Dtype::float64, 2.0, 3.0);
        const double eps = 1e-5;
        xg::nn::BatchNorm1d norm(3, eps, 0.1, xg::Dtype::float64);
        const Var mu = xg::mean(z, 0);
        norm.weight.mutable_value<double>() = xg::sqrt(xg::mean(xg::pow(z - mu, 2.0), 0) + eps).value<double>();
        norm.bias.mutable_value<double>() = mu.value<double>();
        const auto largest = [](const Var& x) { return xg::max(xg::reshape(xg::abs(x), {-1}), 0).item(); };
        const double difference = largest(norm(z) - z);
        table.words("BN, gamma = sqrt(var + eps), beta = mu", "z-hat = z",
                    difference <= 1e-12 * largest(z) ? "z-hat = z" : "z-hat != z",
                    fmt::format("max |z-hat - z| = {:.1e} over an (8, 3) batch with |z| up to {:.1f}: rounding",
                                difference, largest(z)));
    }

    {
        table.group("16. Bias and variance from training and dev error", seed004, "section 1.2");
        const double tolerance = 5.0;  // percentage points; any value in [1, 10) gives the same four verdicts
        const struct {
            double train, dev;
            const char* seed;
        } columns[] = {{1, 11, "high variance"},
                       {15, 16, "high bias"},
                       {15, 30, "high bias & high variance"},
                       {0.5, 1, "low bias, low variance"}};
        for (const auto& c : columns)
            table.words(fmt::format("train {}%, dev {}%", c.train, c.dev), c.seed,
                        sample::diagnose_bias_variance(c.train, c.dev, 0.0, tolerance));
        table.remark("base error 0 (the seed: 'when the base error is very low'); an error gap is high above 5 "
                     "points, and any tolerance from 1 up to 10 points gives the same verdicts");
    }

    const bool all_agree = table.finish();
    fmt::print("wrote worked_numbers.csv, difference_error.csv and difference_error.svg in {}\n", flags.out);
    return all_agree ? 0 : 1;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
