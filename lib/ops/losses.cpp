// Softmax and the losses built on it (cross-entropy), binary cross-entropy and mean squared error.
#include "ops/kernels.hpp"

#include <cmath>

namespace xg {

namespace {

// softmax (or log_softmax) of x along `axis`, stable: exp(x − max) / Σ exp(x − max).
Tensor softmax_value(const Tensor& x, std::size_t axis, bool log) {
    const AxisSplit s = split_at(shape_of_tensor(x), axis);
    return visit(x, [&](const auto& a) -> Tensor {
        using A = std::decay_t<decltype(a)>;
        using T = value_t<A>;
        A r = uninitialized<typename A::value_type>(a.shape());
        // An empty axis has nothing to normalize: the result is as empty as x (PyTorch's too).
        if (s.n == 0) return r;
        for (std::size_t o = 0; o < s.outer; ++o)
            for (std::size_t i = 0; i < s.inner; ++i) {
                const T* p = a.data() + o * s.n * s.inner + i;
                T* q = r.data() + o * s.n * s.inner + i;
                T top = p[0];
                for (std::size_t k = 1; k < s.n; ++k) top = std::max(top, p[k * s.inner]);
                double total = 0;
                for (std::size_t k = 0; k < s.n; ++k) {
                    q[k * s.inner] = std::exp(p[k * s.inner] - top);
                    total += q[k * s.inner];
                }
                const T log_total = static_cast<T>(std::log(total));
                const T inverse = static_cast<T>(1.0 / total);
                for (std::size_t k = 0; k < s.n; ++k)
                    q[k * s.inner] = log ? p[k * s.inner] - top - log_total : q[k * s.inner] * inverse;
            }
        return r;
    });
}

// The names their errors and graph nodes carry, spelled once.
constexpr const char* cross_entropy = "softmax_cross_entropy";
constexpr const char* binary_cross_entropy = "binary_cross_entropy_with_logits";

void check_logits(const char* op, const Var& logits, std::size_t rows) {
    if (logits.dim() != 2)
        throw ShapeError(fmt::format("{}: logits must be 2-D (batch, classes), got {}", op, to_string(logits.shape())));
    if (logits.shape()[0] == 0) throw ShapeError(fmt::format("{}: empty batch, logits {}", op, to_string(logits.shape())));
    if (logits.shape()[1] == 0) throw ShapeError(fmt::format("{}: no classes, logits {}", op, to_string(logits.shape())));
    if (rows != logits.shape()[0])
        throw ShapeError(fmt::format("{}: {} targets for logits of shape {}", op, rows, to_string(logits.shape())));
}

}  // namespace

Var softmax(const Var& x, std::ptrdiff_t axis_arg) {
    require_defined("softmax", x);
    const std::size_t axis = normalize_axis("softmax", axis_arg, x.shape());
    return record("softmax", softmax_value(tensor_of(x), axis, false), {x}, [axis](Backward& bw) {
        Var y = bw.output();
        const auto a = static_cast<std::ptrdiff_t>(axis);
        bw.add(0, y * (bw.grad - sum(bw.grad * y, a, true)));
    }, Saved::only_output());
}

Var log_softmax(const Var& x, std::ptrdiff_t axis_arg) {
    require_defined("log_softmax", x);
    const std::size_t axis = normalize_axis("log_softmax", axis_arg, x.shape());
    return record("log_softmax", softmax_value(tensor_of(x), axis, true), {x}, [axis](Backward& bw) {
        const auto a = static_cast<std::ptrdiff_t>(axis);
        bw.add(0, bw.grad - exp(bw.output()) * sum(bw.grad, a, true));
    }, Saved::only_output());
}

Var softmax_cross_entropy(const Var& logits, const std::vector<std::size_t>& classes) {
    require_defined(cross_entropy, logits);
    check_logits(cross_entropy, logits, classes.size());
    const std::size_t n = logits.shape()[0], c = logits.shape()[1];
    for (std::size_t i = 0; i < n; ++i)
        if (classes[i] >= c)
            throw Error(fmt::format("{}: class {} at position {} is out of range for {} classes", cross_entropy,
                                    classes[i], i, c));
    Tensor log_p = softmax_value(tensor_of(logits), 1, true);
    Tensor loss = visit(log_p, [&](const auto& lp) -> Tensor {
        using T = value_t<std::decay_t<decltype(lp)>>;
        double total = 0;
        for (std::size_t i = 0; i < n; ++i) total -= lp.data()[i * c + classes[i]];
        auto mean = uninitialized<T>({});
        mean() = static_cast<T>(total / static_cast<double>(n));
        return mean;
    });
    // What backward needs, the log-probabilities and the classes, rides along as two constant inputs: a vjp that
    // captured them would allocate every time.
    auto class_values = uninitialized<double>({n});
    std::copy(classes.begin(), classes.end(), class_values.begin());
    const Var saved_log_p = constant(std::move(log_p)), saved_classes = constant(std::move(class_values));
    return record(cross_entropy, std::move(loss), {logits, saved_log_p, saved_classes}, [n, c](Backward& bw) {
        const double scale = bw.grad.item() / static_cast<double>(n);
        const Tensor& log_p = bw.input_value(1);
        const double* classes = std::get<xt::xarray<double>>(bw.input_value(2)).data();
        const auto at = [&](std::size_t i) { return i * c + static_cast<std::size_t>(classes[i]); };
        if (bw.create_graph()) {
            Tensor one_hot = filled(dtype_of_tensor(log_p), {n, c}, 0.0);
            visit(one_hot, [&](auto& t) {
                for (std::size_t i = 0; i < n; ++i) t.data()[at(i)] = 1;
            });
            Var step = bw.grad * (1.0 / static_cast<double>(n));
            bw.add(0, (softmax(bw.input(0), 1) - constant(std::move(one_hot))) * step);
            return;
        }
        // The fused gradient (softmax − onehot)·g / N, from the log-probabilities saved by forward.
        Tensor d = visit(log_p, [&](const auto& lp) -> Tensor {
            using T = value_t<std::decay_t<decltype(lp)>>;
            auto r = uninitialized<T>(lp.shape());
            for (std::size_t i = 0; i < n * c; ++i) r.data()[i] = std::exp(lp.data()[i]);
            for (std::size_t i = 0; i < n; ++i) r.data()[at(i)] -= T(1);
            for (std::size_t i = 0; i < n * c; ++i) r.data()[i] *= static_cast<T>(scale);
            return r;
        });
        bw.add(0, constant(std::move(d)));
    });
}

Var softmax_cross_entropy(const Var& logits0, const Var& targets0) {
    require_defined(cross_entropy, logits0);
    require_defined(cross_entropy, targets0);
    auto [logits, targets] = same_dtype(logits0, targets0);
    check_logits(cross_entropy, logits, targets.dim() ? targets.shape()[0] : 0);
    if (targets.shape() != logits.shape())
        throw ShapeError(fmt::format("{}: targets {} must match logits {}", cross_entropy,
                                     to_string(targets.shape()), to_string(logits.shape())));
    const std::size_t n = logits.shape()[0];
    Var log_p = constant(softmax_value(tensor_of(logits), 1, true));
    Tensor loss;
    {
        NoGradGuard constant_only;
        loss = tensor_of(sum(targets * log_p) * (-1.0 / static_cast<double>(n)));
    }
    return record(cross_entropy, std::move(loss), {logits, targets}, [n, log_p](Backward& bw) {
        Var step = bw.grad * (-1.0 / static_cast<double>(n));
        Var lp = bw.create_graph() ? log_softmax(bw.input(0), 1) : log_p;
        Var t = bw.input(1);
        // d/dz of −Σ t·log softmax(z) is softmax(z)·Σt − t per row; Σt = 1 for one-hot or probability rows.
        if (bw.needs(0)) bw.add(0, (t - exp(lp) * sum(t, 1, true)) * step);
        if (bw.needs(1)) bw.add(1, lp * step);
    });
}

Var binary_cross_entropy_with_logits(const Var& logits0, const Var& targets0) {
    require_defined(binary_cross_entropy, logits0);
    require_defined(binary_cross_entropy, targets0);
    // Named references, not a structured binding: the lambdas below capture them (clang 14 cannot).
    const std::pair<Var, Var> operands = same_dtype(logits0, targets0);
    const Var &z = operands.first, &t = operands.second;
    if (z.shape() != t.shape())
        throw ShapeError(fmt::format("{}: targets {} must match logits {}", binary_cross_entropy,
                                     to_string(t.shape()), to_string(z.shape())));
    if (z.size() == 0) throw ShapeError(fmt::format("{}: empty input", binary_cross_entropy));
    const double n = static_cast<double>(z.size());
    Tensor loss = visit(tensor_of(z), [&](const auto& zv) -> Tensor {
        using A = std::decay_t<decltype(zv)>;
        const A& tv = std::get<A>(tensor_of(t));
        double total = 0;
        for (std::size_t i = 0; i < zv.size(); ++i) {
            const double x = zv.data()[i];
            total += std::max(x, 0.0) - x * tv.data()[i] + std::log1p(std::exp(-std::abs(x)));
        }
        return A(static_cast<value_t<A>>(total / n));
    });
    return record(binary_cross_entropy, std::move(loss), {z, t}, [n](Backward& bw) {
        Var step = bw.grad * (1.0 / n);
        if (bw.needs(0)) bw.add(0, (sigmoid(bw.input(0)) - bw.input(1)) * step);
        if (bw.needs(1)) bw.add(1, -bw.input(0) * step);
    });
}

Var mse(const Var& prediction, const Var& target) {
    require_defined("mse", prediction);
    require_defined("mse", target);
    if (prediction.shape() != target.shape())
        throw ShapeError(fmt::format("mse: prediction {} and target {} must have the same shape",
                                     to_string(prediction.shape()), to_string(target.shape())));
    Var difference = prediction - target;
    return mean(difference * difference);
}

}  // namespace xg
