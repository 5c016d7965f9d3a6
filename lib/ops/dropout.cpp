// Dropout: zeroes each element with probability p and scales the rest by 1/(1 − p) while training.
#include "ops/kernels.hpp"

#include <xgrad/random.hpp>

namespace xg {

Var dropout(const Var& x, double p, Generator& generator, bool training) {
    require_defined("dropout", x);
    if (!(p >= 0.0 && p <= 1.0)) throw Error(fmt::format("dropout: probability p must be in [0, 1], got {}", p));
    if (!training || p == 0.0) return x;
    const double keep_scale = p == 1.0 ? 0.0 : 1.0 / (1.0 - p);
    Tensor mask = filled(x.dtype(), x.shape(), 0.0);
    visit(mask, [&](auto& m) {
        using T = value_t<decltype(m)>;
        for (auto& v : m) v = generator.uniform() >= p ? static_cast<T>(keep_scale) : T(0);
    });
    Var kept = constant(std::move(mask));
    return record("dropout", map_binary(x, kept, [](const auto& a, const auto& b) { return a * b; }), {x},
                  [kept](Backward& bw) { bw.add(0, bw.grad * kept); }, Saved::nothing());
}

}  // namespace xg
