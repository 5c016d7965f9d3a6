// Synthetic sets, each point drawn from the caller's generator so that a seed gives the same set.
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>

#include "data/dataset.hpp"
#include "support/checks.hpp"

#include <fmt/core.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace xg::data {

namespace {

// Noise or spread as a standard deviation: a NaN or infinite one would only make a set of NaN.
void check_spread(const char* op, const char* name, double value) {
    require_non_negative<DataError>(op, name, value);
}

}  // namespace

Dataset make_xor(std::size_t n, Generator& generator, double noise) {
    check_spread("make_xor", "noise", noise);
    xt::xarray<float> x = uninitialised_rows("make_xor", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t a = (i >> 1) & 1, b = i & 1;
        x(i, 0) = static_cast<float>(static_cast<double>(a) + noise * generator.normal());
        x(i, 1) = static_cast<float>(static_cast<double>(b) + noise * generator.normal());
        labels[i] = a ^ b;
    }
    return labelled(std::move(x), std::move(labels), 2);
}

Dataset make_moons(std::size_t n, Generator& generator, double noise) {
    check_spread("make_moons", "noise", noise);
    xt::xarray<float> x = uninitialised_rows("make_moons", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = std::numbers::pi * generator.uniform();
        labels[i] = i % 2;
        // The lower arc is the upper one turned over and moved right by 1 and down by 0.5.
        const double px = labels[i] == 0 ? std::cos(t) : 1.0 - std::cos(t);
        const double py = labels[i] == 0 ? std::sin(t) : 0.5 - std::sin(t);
        x(i, 0) = static_cast<float>(px + noise * generator.normal());
        x(i, 1) = static_cast<float>(py + noise * generator.normal());
    }
    return labelled(std::move(x), std::move(labels), 2);
}

Dataset make_spirals(std::size_t n_per_class, std::size_t classes, Generator& generator, double noise) {
    check_spread("make_spirals", "noise", noise);
    std::size_t n = 0;
    if (__builtin_mul_overflow(n_per_class, classes, &n))
        throw DataError(fmt::format("make_spirals: {} classes of {} points is too large", classes, n_per_class));
    xt::xarray<float> x = uninitialised_rows("make_spirals", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t j = 0; j < n_per_class; ++j) {
            const std::size_t i = c * n_per_class + j;
            const double fraction = n_per_class > 1 ? static_cast<double>(j) / static_cast<double>(n_per_class - 1) : 0;
            const double angle = 4.0 * (static_cast<double>(c) + fraction) + noise * generator.normal();
            x(i, 0) = static_cast<float>(fraction * std::sin(angle));
            x(i, 1) = static_cast<float>(fraction * std::cos(angle));
            labels[i] = c;
        }
    return labelled(std::move(x), std::move(labels), classes);
}

Dataset make_blobs(std::size_t n, std::size_t classes, std::size_t features, Generator& generator, double std) {
    if (classes == 0) throw DataError("make_blobs: classes must be positive");
    std::vector<std::vector<double>> centers(classes, std::vector<double>(features));
    for (auto& center : centers)
        for (double& c : center) c = -10.0 + 20.0 * generator.uniform();
    return make_blobs(n, centers, generator, std);
}

Dataset make_blobs(std::size_t n, const std::vector<std::vector<double>>& centers, Generator& generator,
                   double std) {
    if (centers.empty()) throw DataError("make_blobs: needs at least one center");
    check_spread("make_blobs", "std", std);
    const std::size_t classes = centers.size(), features = centers[0].size();
    for (std::size_t c = 1; c < classes; ++c)
        if (centers[c].size() != features)
            throw DataError(fmt::format("make_blobs: center {} has {} coordinates, center 0 has {}", c,
                                        centers[c].size(), features));
    for (const auto& center : centers)
        for (const double c : center)
            if (!std::isfinite(c)) throw DataError(fmt::format("make_blobs: a center coordinate is {}", c));
    xt::xarray<float> x = uninitialised_rows("make_blobs", n, features);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = i % classes;
        for (std::size_t f = 0; f < features; ++f)
            x(i, f) = static_cast<float>(centers[labels[i]][f] + std * generator.normal());
    }
    return labelled(std::move(x), std::move(labels), classes);
}

Dataset make_sine(std::size_t n, Generator& generator, double noise, bool evenly_spaced) {
    check_spread("make_sine", "noise", noise);
    Dataset d;
    d.inputs = uninitialised_rows("make_sine", n, 1);
    d.targets = uninitialised_rows("make_sine", n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = !evenly_spaced ? generator.uniform()
                         : n == 1       ? 0.0
                                        : static_cast<double>(i) / static_cast<double>(n - 1);
        d.inputs(i, 0) = static_cast<float>(x);
        d.targets(i, 0) = static_cast<float>(std::sin(2.0 * std::numbers::pi * x) + noise * generator.normal());
    }
    return d;
}

}  // namespace xg::data
