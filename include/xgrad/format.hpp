#pragma once
// Printing variables: `fmt::print("{}", x)`, `std::cout << x`, and the graph as Graphviz DOT.
#include <xgrad/var.hpp>

#include <fmt/format.h>

#include <ostream>
#include <string>

namespace xg {

/// "Var(shape=(2, 3), float32, op=mul, requires_grad)" followed by the values.
std::string to_string(const Var& x);
std::ostream& operator<<(std::ostream& out, const Var& x);

/// The graph that produced `root`, as Graphviz DOT: one box per leaf, one ellipse per op, with shapes.
std::string to_dot(const Var& root);

}  // namespace xg

template <>
struct fmt::formatter<xg::Var> : fmt::formatter<std::string> {
    template <class Context>
    auto format(const xg::Var& x, Context& context) const {
        return fmt::formatter<std::string>::format(xg::to_string(x), context);
    }
};
