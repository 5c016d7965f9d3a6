#pragma once
// Seeded randomness. There is no global generator: whoever needs random numbers owns a Generator.
#include <xgrad/var.hpp>

#include <cstdint>
#include <random>

namespace xg {

/// A random generator (mt19937_64) with portable uniform and normal draws: the same seed gives the same
/// numbers on every machine.
class Generator {
public:
    explicit Generator(std::uint64_t seed);
    /// Uniform in [0, 1).
    double uniform();
    /// Standard normal (Box–Muller).
    double normal();
    /// A uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n);
    void seed(std::uint64_t seed);

private:
    std::mt19937_64 engine_;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

/// A leaf of normal(mean, std) samples; mean must be finite and std finite and non-negative.
Var randn(const Shape& shape, Generator& generator, Dtype dtype = Dtype::float32, double mean = 0.0,
          double std = 1.0);
/// A leaf of uniform [low, high) samples; low and high must be finite, low <= high.
Var rand(const Shape& shape, Generator& generator, Dtype dtype = Dtype::float32, double low = 0.0,
         double high = 1.0);

}  // namespace xg
