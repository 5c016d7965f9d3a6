// Portable random draws: the bits come from mt19937_64, the mapping to uniform and normal values is ours, so
// a seed gives the same numbers with any standard library.
#include "support/checks.hpp"
#include "support/element_count.hpp"

#include <xgrad/errors.hpp>

#include <xgrad/random.hpp>

#include <cmath>

namespace xg {

Generator::Generator(std::uint64_t seed) : engine_(seed) {}

void Generator::seed(std::uint64_t seed) {
    engine_.seed(seed);
    has_spare_ = false;
}

double Generator::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
    const double angle = 2.0 * M_PI * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
}

std::uint64_t Generator::below(std::uint64_t n) {
    if (n == 0) throw Error("Generator::below: n must be positive");
    // Rejection keeps every value equally likely.
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t v;
    do v = engine_();
    while (v >= limit);
    return v % n;
}

namespace {
template <class T, class Draw>
Var draw_as(const Shape& shape, Draw& next) {
    auto a = xt::xarray<T>::from_shape(shape);
    for (T& v : a) v = static_cast<T>(next());
    return Var(std::move(a));
}

template <class Draw>
Var draw(const char* op, const Shape& shape, Dtype dtype, Draw next) {
    checked_element_count(op, shape, dtype);
    return dtype == Dtype::float32 ? draw_as<float>(shape, next) : draw_as<double>(shape, next);
}
}  // namespace

Var randn(const Shape& shape, Generator& generator, Dtype dtype, double mean, double std) {
    require_normal_parameters("randn", mean, std);
    return draw("randn", shape, dtype, [&] { return mean + std * generator.normal(); });
}

Var rand(const Shape& shape, Generator& generator, Dtype dtype, double low, double high) {
    require_uniform_range("rand", low, high);
    return draw("rand", shape, dtype, [&] { return low + (high - low) * generator.uniform(); });
}

}  // namespace xg
