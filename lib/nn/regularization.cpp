// Weight penalties as graph ops, so their gradients come from backward like the loss's.
#include "support/checks.hpp"

#include <xgrad/ops.hpp>
#include <xgrad/regularization.hpp>

namespace xg {

namespace {

// lambda · scale · Σ term(W) over the parameters that count.
template <class Term>
Var penalty(const char* op, const std::vector<Var>& parameters, double lambda, double scale, bool include_1d,
            Term term) {
    require_non_negative(op, "lambda", lambda);
    Var total;
    for (const Var& p : parameters) {
        require_defined(op, p);
        if (p.dim() < 2 && !include_1d) continue;
        Var t = sum(term(p));
        total = total.defined() ? total + t : t;
    }
    return total.defined() ? total * (lambda * scale) : Var(0.0);
}

}  // namespace

Var l2_penalty(const std::vector<Var>& parameters, double lambda, bool include_1d) {
    return penalty("l2_penalty", parameters, lambda, 0.5, include_1d, [](const Var& w) { return w * w; });
}

Var l1_penalty(const std::vector<Var>& parameters, double lambda, bool include_1d) {
    return penalty("l1_penalty", parameters, lambda, 1.0, include_1d, [](const Var& w) { return abs(w); });
}

}  // namespace xg
