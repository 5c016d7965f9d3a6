// Randomized gradient audit: random graphs of the differentiable primitives (random shapes with broadcasting,
// random depth, nodes used more than once), each gradchecked in float64 against central differences, and one
// in four also through its second derivative. Every graph comes from its own seed, so a failure names the seed
// that rebuilds exactly that graph.
//
//   XGRAD_AUDIT_GRAPHS=5000 (default 500)  how many graphs
//   XGRAD_AUDIT_SEED=N      (default 1)    the first graph's seed; graph i uses N + i
//   XGRAD_AUDIT_VERBOSE=1                  prints each graph before checking it: a crash (a sanitizer's abort)
//                                          shows no doctest context, so this names the graph it happened in
//
// Graphs are built by running each candidate op on the actual inputs and keeping it only where the op is smooth
// there with room to spare (log, sqrt and fractional powers of values >= 0.1, relu, abs and maximum away from
// their kinks, max along an axis without near-ties, bounded values), so a failure is a wrong gradient, not a
// finite difference taken across a kink.
#include "check.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

using xg::Shape;
using xg::Var;

namespace {

// Closer than this to a kink or a tie, a finite difference of step 1e-6 times the graph's gain could cross it.
constexpr double kink_margin = 1e-3;
// Larger values lose the digits gradcheck's tolerances rely on.
constexpr double max_magnitude = 50.0;
constexpr std::size_t max_elements = 36;

std::uint64_t environment_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

std::size_t elements(const Shape& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

// numpy's broadcasting of two shapes, or false when they do not broadcast.
bool broadcast_shape(const Shape& a, const Shape& b, Shape& out) {
    const std::size_t n = std::max(a.size(), b.size());
    out = Shape(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1) return false;
        out[i] = std::max(da, db);
    }
    return true;
}

std::string describe(const std::vector<std::size_t>& values) {
    std::ostringstream out;
    out << "{";
    for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
    out << "}";
    return out.str();
}

// The axis `size` in front of `shape` (built by push_back: g++ 12 misreads svector::insert at the front).
Shape prepend(std::size_t size, const Shape& shape) {
    Shape out{size};
    for (std::size_t d : shape) out.push_back(d);
    return out;
}

const xt::xarray<double>& value(const Var& v) { return v.value<double>(); }

double smallest_abs(const xt::xarray<double>& x) { return x.size() ? xt::amin(xt::abs(x))() : 1.0; }

// A graph as a program: each step makes one node from the nodes before it; some steps are leaves (the
// gradchecked inputs). Running it on other leaf values is what gradcheck's perturbations do.
struct Graph {
    struct Step {
        std::function<Var(const std::vector<Var>& nodes, const std::vector<Var>& leaves)> apply;
        std::string text;
    };
    std::vector<Step> steps;
    std::vector<Var> leaves;
    std::vector<std::size_t> uses;  // per node: how many later steps read it

    // Every node nobody reads is an output, so no op's gradient goes unchecked.
    Var run(const std::vector<Var>& leaf_values) const {
        std::vector<Var> nodes;
        for (const Step& step : steps) nodes.push_back(step.apply(nodes, leaf_values));
        std::vector<Var> outputs;
        for (std::size_t i = 0; i < nodes.size(); ++i)
            if (uses[i] == 0) outputs.push_back(nodes[i]);
        if (outputs.size() == 1) return outputs[0];
        for (Var& output : outputs) output = xg::reshape(output, {-1});
        return xg::concat(outputs);
    }

    // Each step's op, for the audit's tally of what it covered.
    std::vector<std::string> ops() const {
        std::vector<std::string> out;
        for (const Step& step : steps) out.push_back(step.text.substr(0, step.text.find_first_of("( ")));
        return out;
    }

    std::string to_string() const {
        std::ostringstream out;
        for (std::size_t i = 0; i < steps.size(); ++i) out << "  n" << i << " = " << steps[i].text << "\n";
        out << "  output: concat of the flattened unused nodes (the node itself when there is one)";
        return out.str();
    }
};

class GraphBuilder {
public:
    explicit GraphBuilder(xg::Generator& generator) : g_(generator) {}

    Graph build() {
        leaf(random_shape());
        const std::size_t depth = 1 + g_.below(8);
        for (std::size_t made = 0; made < depth;) {
            const std::size_t x = pick_node();
            if (add_op(x)) ++made;
        }
        return std::move(graph_);
    }

private:
    using Apply = std::function<Var(const std::vector<Var>&, const std::vector<Var>&)>;

    std::size_t below(std::size_t n) { return static_cast<std::size_t>(g_.below(n)); }
    double uniform(double low, double high) { return low + (high - low) * g_.uniform(); }
    bool chance(double p) { return g_.uniform() < p; }

    Shape random_shape() {
        // Mostly matrices, which matmul, affine, solve and the losses need.
        const double u = g_.uniform();
        Shape shape(u < 0.1 ? 0 : u < 0.35 ? 1 : u < 0.8 ? 2 : 3);
        for (auto& d : shape) d = 1 + below(3);
        return shape;
    }

    // Mostly the newest node, so graphs grow deep, sometimes an older one, so nodes are shared.
    std::size_t pick_node() { return chance(0.6) ? values_.size() - 1 : below(values_.size()); }

    const Shape& shape(std::size_t node) const { return values_[node].shape(); }
    const xt::xarray<double>& val(std::size_t node) const { return value(values_[node]); }
    std::string name(std::size_t node) const { return std::string(1, 'n').append(std::to_string(node)); }
    std::string with_shape(std::size_t node) const { return name(node) + " " + xg::to_string(shape(node)); }

    std::size_t push(Apply apply, std::string text, const std::vector<std::size_t>& operands) {
        values_.push_back(apply(values_, graph_.leaves));
        graph_.steps.push_back({std::move(apply), std::move(text) + " -> " + xg::to_string(values_.back().shape())});
        graph_.uses.push_back(0);
        for (std::size_t operand : operands) ++graph_.uses[operand];
        return values_.size() - 1;
    }

    std::size_t leaf(const Shape& shape, double low = -2.0, double high = 2.0) {
        const std::size_t index = graph_.leaves.size();
        graph_.leaves.push_back(xg::rand(shape, g_, xg::Dtype::float64, low, high).set_requires_grad());
        std::ostringstream text;
        text << "leaf " << index << " uniform in [" << low << ", " << high << ")";
        return push([index](const std::vector<Var>&, const std::vector<Var>& leaves) { return leaves[index]; },
                    text.str(), {});
    }

    // Everything added since `mark` is dropped: the op turned out not smooth or bounded at these values.
    struct Mark {
        std::size_t nodes, leaves;
    };
    Mark mark() const { return {values_.size(), graph_.leaves.size()}; }
    void rollback(const Mark& m) {
        values_.resize(m.nodes);
        graph_.steps.resize(m.nodes);
        graph_.uses.resize(m.nodes);
        graph_.leaves.resize(m.leaves);
    }

    // Adds op(operands) when its value is finite, bounded and small enough; false (and nothing added) otherwise.
    bool keep(const Mark& m, Apply apply, std::string text, const std::vector<std::size_t>& operands) {
        const Var out = apply(values_, graph_.leaves);
        const auto& v = value(out);
        const bool fine = elements(out.shape()) <= max_elements &&
                          std::all_of(v.begin(), v.end(), [](double e) { return std::isfinite(e); }) &&
                          (v.size() == 0 || xt::amax(xt::abs(v))() <= max_magnitude);
        if (!fine) {
            rollback(m);
            return false;
        }
        push(std::move(apply), std::move(text), operands);
        return true;
    }

    // A shape that broadcasts with `s`: leading axes dropped or added, axes set to 1 or stretched from 1.
    Shape partner_shape(const Shape& s) {
        Shape out(s.begin() + (s.empty() || chance(0.7) ? 0 : below(s.size() + 1)), s.end());
        for (auto& d : out) {
            if (chance(0.3)) d = 1;
            else if (d == 1 && chance(0.3)) d = 2 + below(2);
        }
        return chance(0.15) ? prepend(2 + below(2), out) : out;
    }

    // The second operand of a binary op: an earlier node that broadcasts with x, or a new leaf that does.
    std::size_t partner(std::size_t x, double low, double high) {
        if (chance(0.3)) {
            const std::size_t other = below(values_.size());
            Shape joint;
            const auto& v = val(other);
            if (broadcast_shape(shape(x), shape(other), joint) && elements(joint) <= max_elements &&
                (v.size() == 0 || (xt::amin(v)() >= low && xt::amax(v)() <= high)))
                return other;
        }
        return leaf(partner_shape(shape(x)), low, high);
    }

    template <class F>
    bool unary(std::size_t x, const std::string& op, F f) {
        return keep(mark(), [x, f](const std::vector<Var>& n, const std::vector<Var>&) { return f(n[x]); },
                    op + "(" + with_shape(x) + ")", {x});
    }

    template <class F>
    bool binary(std::size_t a, const std::string& op, F f, double low = -2.0, double high = 2.0,
                const std::function<bool(const xt::xarray<double>&, const xt::xarray<double>&)>& smooth = {}) {
        const Mark m = mark();
        const std::size_t b = partner(a, low, high);
        Shape joint;
        if (!broadcast_shape(shape(a), shape(b), joint) || (smooth && !smooth(val(a), val(b)))) {
            rollback(m);
            return false;
        }
        return keep(m, [a, b, f](const std::vector<Var>& n, const std::vector<Var>&) { return f(n[a], n[b]); },
                    op + "(" + with_shape(a) + ", " + with_shape(b) + ")", {a, b});
    }

    std::ptrdiff_t random_axis(std::size_t x) {
        const auto n = static_cast<std::ptrdiff_t>(shape(x).size());
        const auto axis = static_cast<std::ptrdiff_t>(below(shape(x).size()));
        return chance(0.3) ? axis - n : axis;  // negative axes count from the end
    }

    // No two elements along `axis` within the margin of the largest: the gradient's choice is then stable.
    bool unique_max(std::size_t x, std::ptrdiff_t axis) const {
        const auto& v = val(x);
        const std::size_t a = axis < 0 ? static_cast<std::size_t>(axis + static_cast<std::ptrdiff_t>(v.dimension()))
                                       : static_cast<std::size_t>(axis);
        const xt::xarray<double> largest = xt::amax(v, {a}, xt::keep_dims);
        const xt::xarray<double> near = xt::cast<double>(xt::abs(v - largest) < kink_margin);
        return xt::amax(xt::sum(near, {a}))() == 1.0;
    }

    // A random shape with the same number of elements, one entry sometimes left to reshape as -1.
    std::vector<std::ptrdiff_t> reshape_target(std::size_t count) {
        std::vector<std::ptrdiff_t> out;
        std::size_t rest = count;
        while (rest > 1 && out.size() < 3) {
            std::vector<std::size_t> divisors;
            for (std::size_t d = 2; d <= rest; ++d)
                if (rest % d == 0) divisors.push_back(d);
            const std::size_t d = divisors[below(divisors.size())];
            out.push_back(static_cast<std::ptrdiff_t>(d));
            rest /= d;
            if (chance(0.2)) out.insert(out.begin() + static_cast<std::ptrdiff_t>(below(out.size() + 1)), 1);
        }
        if (rest > 1) out.back() *= static_cast<std::ptrdiff_t>(rest);
        if (!out.empty() && chance(0.3)) out[below(out.size())] = -1;
        return out;
    }

    bool add_op(std::size_t x) {
        const Shape s = shape(x);
        const auto& v = val(x);
        const std::size_t ndim = s.size();
        const Mark m = mark();
        switch (below(33)) {
            case 0: return unary(x, "neg", [](const Var& a) { return -a; });
            case 1: {
                const double c = uniform(-2, 2);
                return unary(x, "add(" + std::to_string(c) + ")", [c](const Var& a) { return a + c; });
            }
            case 2: {
                const double c = uniform(0.5, 2) * (chance(0.5) ? 1 : -1);
                return unary(x, "mul(" + std::to_string(c) + ")", [c](const Var& a) { return a * c; });
            }
            case 3: {
                const double c = uniform(-2, 2);
                return unary(x, "rsub(" + std::to_string(c) + ")", [c](const Var& a) { return c - a; });
            }
            case 4: {
                if (smallest_abs(v) < 0.3) return false;
                const double c = uniform(-2, 2);
                return unary(x, "rdiv(" + std::to_string(c) + ")", [c](const Var& a) { return c / a; });
            }
            case 5: {
                // Integer powers are smooth everywhere; fractional and negative ones only well above zero.
                const double p = std::vector<double>{2.0, 3.0, 0.5, -1.5, 1.7}[below(5)];
                if (p != std::floor(p) || p < 0)
                    if (v.size() && xt::amin(v)() < 0.2) return false;
                return unary(x, "pow(" + std::to_string(p) + ")", [p](const Var& a) { return xg::pow(a, p); });
            }
            case 6:
                if (v.size() && xt::amax(v)() > 3) return false;
                return unary(x, "exp", [](const Var& a) { return xg::exp(a); });
            case 7:
                if (v.size() && xt::amin(v)() < 0.1) return false;
                return unary(x, "log", [](const Var& a) { return xg::log(a); });
            case 8:
                if (v.size() && xt::amin(v)() < 0.1) return false;
                return unary(x, "sqrt", [](const Var& a) { return xg::sqrt(a); });
            case 9:
                if (smallest_abs(v) < kink_margin) return false;
                return unary(x, "abs", [](const Var& a) { return xg::abs(a); });
            case 10:
                if (smallest_abs(v) < kink_margin) return false;
                return unary(x, "relu", [](const Var& a) { return xg::relu(a); });
            case 11: {
                if (smallest_abs(v) < kink_margin) return false;
                const double slope = uniform(0.01, 0.3);
                return unary(x, "leaky_relu(slope " + std::to_string(slope) + ")",
                             [slope](const Var& a) { return xg::leaky_relu(a, slope); });
            }
            case 12: return unary(x, "sigmoid", [](const Var& a) { return xg::sigmoid(a); });
            case 13: return unary(x, "tanh", [](const Var& a) { return xg::tanh(a); });
            case 14: return binary(x, "add", [](const Var& a, const Var& b) { return a + b; });
            case 15: return binary(x, "sub", [](const Var& a, const Var& b) { return a - b; });
            case 16: return binary(x, "mul", [](const Var& a, const Var& b) { return a * b; });
            case 17:
                // Denominators in [0.5, 2): a new leaf is drawn there, an earlier node is used only if it is.
                return binary(x, "div", [](const Var& a, const Var& b) { return a / b; }, 0.5, 2.0);
            case 18:
                if (v.size() && xt::amin(v)() < 0.2) return false;
                return binary(x, "pow", [](const Var& a, const Var& b) { return xg::pow(a, b); }, -2.0, 2.0);
            case 19:
            case 20: {
                const bool larger = below(2) == 0;
                const auto apart = [](const xt::xarray<double>& a, const xt::xarray<double>& b) {
                    return smallest_abs(a - b) >= kink_margin;
                };
                if (larger)
                    return binary(x, "maximum", [](const Var& a, const Var& b) { return xg::maximum(a, b); }, -2.0,
                                  2.0, apart);
                return binary(x, "minimum", [](const Var& a, const Var& b) { return xg::minimum(a, b); }, -2.0, 2.0,
                              apart);
            }
            case 21: {
                if (chance(0.3)) {
                    const bool average = chance(0.5);
                    return unary(x, average ? "mean()" : "sum()",
                                 [average](const Var& a) { return average ? xg::mean(a) : xg::sum(a); });
                }
                if (ndim == 0) return false;
                const std::ptrdiff_t axis = random_axis(x);
                const bool keepdims = chance(0.5);
                const int which = static_cast<int>(below(3));
                if (which == 2 && !unique_max(x, axis)) return false;
                const std::string op = std::vector<std::string>{"sum", "mean", "max"}[which];
                return unary(x, op + "(axis " + std::to_string(axis) + ", keepdims " + std::to_string(keepdims) + ")",
                             [=](const Var& a) {
                                 if (which == 0) return xg::sum(a, axis, keepdims);
                                 if (which == 1) return xg::mean(a, axis, keepdims);
                                 return xg::max(a, axis, keepdims);
                             });
            }
            case 22: {
                // A shape x broadcasts to, so sum_to reduces back to it.
                Shape target(s.begin() + static_cast<std::ptrdiff_t>(below(ndim + 1)), s.end());
                for (auto& d : target)
                    if (chance(0.4)) d = 1;
                return unary(x, "sum_to(" + xg::to_string(target) + ")",
                             [target](const Var& a) { return xg::sum_to(a, target); });
            }
            case 23: {
                const auto target = reshape_target(elements(s));
                std::ostringstream text;
                text << "reshape({";
                for (std::size_t i = 0; i < target.size(); ++i) text << (i ? ", " : "") << target[i];
                text << "})";
                return unary(x, text.str(), [target](const Var& a) { return xg::reshape(a, target); });
            }
            case 24: {
                if (ndim == 2 && chance(0.4))
                    return unary(x, "transpose", [](const Var& a) { return xg::transpose(a); });
                std::vector<std::size_t> perm(ndim);
                std::iota(perm.begin(), perm.end(), 0);
                for (std::size_t i = ndim; i > 1; --i) std::swap(perm[i - 1], perm[below(i)]);
                return unary(x, "transpose(" + describe(perm) + ")",
                             [perm](const Var& a) { return xg::transpose(a, perm); });
            }
            case 25: {
                Shape target = s;
                for (auto& d : target)
                    if (d == 1 && chance(0.5)) d = 2 + below(2);
                if (target == s || chance(0.5)) target = prepend(2 + below(2), target);
                if (elements(target) > max_elements) return false;
                return unary(x, "broadcast_to(" + xg::to_string(target) + ")",
                             [target](const Var& a) { return xg::broadcast_to(a, target); });
            }
            case 26: {
                if (ndim == 0) return false;
                const std::ptrdiff_t axis = random_axis(x);
                const std::size_t size = s[axis < 0 ? static_cast<std::size_t>(axis + static_cast<std::ptrdiff_t>(ndim))
                                                    : static_cast<std::size_t>(axis)];
                const std::size_t begin = below(size), end = begin + 1 + below(size - begin);
                return unary(x,
                             "slice(axis " + std::to_string(axis) + ", " + std::to_string(begin) + ":" +
                                 std::to_string(end) + ")",
                             [=](const Var& a) { return xg::slice(a, axis, begin, end); });
            }
            case 27: {
                if (ndim == 0) return false;
                std::vector<std::size_t> rows(1 + below(4));
                for (auto& r : rows) r = below(s[0]);
                return unary(x, "select_rows(" + describe(rows) + ")",
                             [rows](const Var& a) { return xg::select_rows(a, rows); });
            }
            case 28: {
                if (ndim == 0) return false;
                const std::ptrdiff_t axis = random_axis(x);
                if (chance(0.3))
                    return unary(x, "concat(itself, itself, axis " + std::to_string(axis) + ")",
                                 [axis](const Var& a) { return xg::concat({a, a}, axis); });
                Shape other = s;
                other[axis < 0 ? static_cast<std::size_t>(axis + static_cast<std::ptrdiff_t>(ndim))
                               : static_cast<std::size_t>(axis)] = 1 + below(2);
                const std::size_t y = leaf(other);
                const bool first = chance(0.5);
                return keep(m,
                            [=](const std::vector<Var>& n, const std::vector<Var>&) {
                                return first ? xg::concat({n[x], n[y]}, axis) : xg::concat({n[y], n[x]}, axis);
                            },
                            "concat(" + with_shape(first ? x : y) + ", " + with_shape(first ? y : x) + ", axis " +
                                std::to_string(axis) + ")",
                            {x, y});
            }
            case 29: {
                if (ndim == 0) return false;
                const std::ptrdiff_t axis = random_axis(x);
                const bool log = chance(0.5);
                return unary(x, std::string(log ? "log_softmax" : "softmax") + "(axis " + std::to_string(axis) + ")",
                             [=](const Var& a) { return log ? xg::log_softmax(a, axis) : xg::softmax(a, axis); });
            }
            case 30: {
                // The losses: their first operand is the node, targets are new leaves (gradchecked too).
                const int loss = static_cast<int>(below(4));
                if (loss <= 1 && ndim != 2) return false;
                if (loss == 0) {
                    std::vector<std::size_t> classes(s[0]);
                    for (auto& c : classes) c = below(s[1]);
                    return unary(x, "softmax_cross_entropy(classes " + describe(classes) + ")",
                                 [classes](const Var& a) { return xg::softmax_cross_entropy(a, classes); });
                }
                const std::size_t t = loss == 3 ? leaf(s) : leaf(s, 0.0, 1.0);
                const std::string op =
                    std::vector<std::string>{"", "softmax_cross_entropy", "binary_cross_entropy_with_logits", "mse"}[loss];
                return keep(m,
                            [=](const std::vector<Var>& n, const std::vector<Var>&) {
                                if (loss == 1) return xg::softmax_cross_entropy(n[x], n[t]);
                                if (loss == 2) return xg::binary_cross_entropy_with_logits(n[x], n[t]);
                                return xg::mse(n[x], n[t]);
                            },
                            op + "(" + with_shape(x) + ", " + with_shape(t) + ")", {x, t});
            }
            case 31: {
                // matmul, affine, or matmul with its own transpose; the other factors are new leaves.
                if (ndim != 2) return false;
                const int which = static_cast<int>(below(4));
                if (which == 3)
                    return unary(x, "matmul(x, transpose(x))",
                                 [](const Var& a) { return xg::matmul(a, xg::transpose(a)); });
                const std::size_t n = 1 + below(3);
                if (which == 0) {
                    const std::size_t w = leaf({s[1], n});
                    return keep(m, [=](const std::vector<Var>& nodes, const std::vector<Var>&) {
                                    return xg::matmul(nodes[x], nodes[w]);
                                }, "matmul(" + with_shape(x) + ", " + with_shape(w) + ")", {x, w});
                }
                if (which == 1) {
                    const std::size_t w = leaf({n, s[0]});
                    return keep(m, [=](const std::vector<Var>& nodes, const std::vector<Var>&) {
                                    return xg::matmul(nodes[w], nodes[x]);
                                }, "matmul(" + with_shape(w) + ", " + with_shape(x) + ")", {w, x});
                }
                const std::size_t w = leaf({s[1], n}), b = leaf({n});
                return keep(m, [=](const std::vector<Var>& nodes, const std::vector<Var>&) {
                                return xg::affine(nodes[x], nodes[w], nodes[b]);
                            }, "affine(" + with_shape(x) + ", " + with_shape(w) + ", " + with_shape(b) + ")",
                            {x, w, b});
            }
            default: {
                // solve with 4 added to a diagonal, far from singular: x as the right-hand side, or as the
                // matrix when square.
                // As the matrix, x must be small enough for 4I to dominate it.
                const bool square = ndim == 2 && s[0] == s[1] && xt::amax(xt::abs(v))() <= 1.0;
                if ((ndim != 1 && ndim != 2) || s[0] > 4) return false;
                const bool as_matrix = square && chance(0.5);
                const std::size_t n = s[0];
                const Var shift(xt::xarray<double>(4.0 * xt::eye<double>(n)));
                const std::size_t other = as_matrix ? leaf(chance(0.5) ? Shape{n} : Shape{n, 1 + below(2)})
                                                    : leaf({n, n}, -1.0, 1.0);
                const std::size_t a = as_matrix ? x : other, b = as_matrix ? other : x;
                return keep(m, [=](const std::vector<Var>& nodes, const std::vector<Var>&) {
                                return xg::solve(nodes[a] + shift, nodes[b]);
                            }, "solve(" + with_shape(a) + " + 4I, " + with_shape(b) + ")", {a, b});
            }
        }
    }

    xg::Generator& g_;
    Graph graph_;
    std::vector<Var> values_;  // each node's value at the leaves' values
};

// The same check as check::gradient, with the graph in the message; true when it passed.
bool audit(const Graph& graph, bool second_order) {
    const check::Function first = [&](const std::vector<Var>& leaves) { return graph.run(leaves); };
    const xg::GradcheckReport report = xg::gradcheck(first, graph.leaves);
    INFO("first derivative:\n" << report.to_string());
    CHECK(report.passed);
    if (!report.passed || !second_order) return report.passed;

    // d/dleaves of sum(out · r) for a fixed r, recorded with create_graph, then gradchecked itself.
    xg::Generator cotangent_generator(0);
    const Var r = xg::rand(graph.run(graph.leaves).shape(), cotangent_generator, xg::Dtype::float64, -1, 1);
    const check::Function gradients = [&](const std::vector<Var>& leaves) {
        const Var scalar = xg::sum(graph.run(leaves) * r);
        std::vector<Var> all = xg::grad(scalar, leaves, Var(), {.create_graph = true});
        std::vector<Var> flat_leaves;
        for (Var& g : all) g = xg::reshape(g, {-1});
        for (const Var& leaf : leaves) flat_leaves.push_back(xg::reshape(leaf, {-1}));
        // Where the graph is linear its gradient is a constant, off the tape; the zero term keeps it on.
        return xg::concat(all) + 0.0 * xg::sum(xg::concat(flat_leaves));
    };
    const xg::GradcheckReport second = xg::gradcheck(gradients, graph.leaves);
    INFO("second derivative (gradient of sum(output · r)):\n" << second.to_string());
    CHECK(second.passed);
    return second.passed;
}

}  // namespace

TEST_CASE("random graphs of every primitive: gradients match central differences") {
    const std::uint64_t first_seed = environment_number("XGRAD_AUDIT_SEED", 1);
    const std::uint64_t count = environment_number("XGRAD_AUDIT_GRAPHS", 500);
    const bool verbose = environment_number("XGRAD_AUDIT_VERBOSE", 0) != 0;
    std::size_t failures = 0;
    std::map<std::string, std::size_t> tally;
    for (std::uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
        xg::Generator generator(seed);
        Graph graph;
        std::string text;
        try {
            graph = GraphBuilder(generator).build();
            text = graph.to_string();
        } catch (const xg::Error& e) {
            FAIL(("building graph " + std::to_string(seed) + " threw: " + e.what()));
        }
        for (const std::string& op : graph.ops()) ++tally[op];
        if (verbose) std::cout << "graph with seed " << seed << ":\n" << text << std::endl;
        INFO("graph with seed " << seed << " (rebuild it alone with XGRAD_AUDIT_SEED=" << seed
                                << " XGRAD_AUDIT_GRAPHS=1):\n" << text);
        try {
            failures += !audit(graph, seed % 4 == 0);
        } catch (const xg::Error& e) {
            FAIL_CHECK((std::string("gradchecking threw: ") + e.what()));
            ++failures;
        }
    }
    std::ostringstream covered;
    for (const auto& [op, n] : tally) covered << " " << op << " " << n;
    MESSAGE(count << " graphs from seed " << first_seed << ", " << failures << " failed; ops used:" << covered.str());
}

TEST_CASE("the audit's check fails on a wrong gradient") {
    // x · detach(x) has the value x² but the gradient x, half the true one: the same check must reject it.
    xg::Generator generator(3);
    const Var x = check::input(generator, {2, 3});
    const xg::GradcheckReport report =
        xg::gradcheck([](const std::vector<Var>& v) { return v[0] * v[0].detach(); }, {x});
    CHECK_FALSE(report.passed);
}
