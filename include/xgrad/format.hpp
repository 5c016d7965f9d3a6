#pragma once
// Printing variables: `fmt::print("{}", x)`, `std::cout << x`, and the graph as Graphviz DOT.
#include <xgrad/var.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <string>

namespace xg {

/// "Var(shape=(2, 3), float32, op=mul, requires_grad)" and the values on the next lines; a scalar on one line,
/// "Var(3.5, float64, requires_grad)".
std::string to_string(const Var& x);
std::ostream& operator<<(std::ostream& out, const Var& x);

/// The graph that produced `root`, as Graphviz DOT: one box per leaf, one ellipse per op, with shapes.
std::string to_dot(const Var& root);

}  // namespace xg

/// `fmt::print("{}", x)`. No format spec: the text is copied as it is, so that fmt's fill-and-width parser, which
/// g++ 12 warns about (-Wstringop-overflow) in every file that instantiates it, never is.
template <>
struct fmt::formatter<xg::Var> {
    constexpr auto parse(fmt::format_parse_context& context) {
        if (context.begin() != context.end() && *context.begin() != '}')
            throw fmt::format_error("xg::Var takes no format spec: use \"{}\"");
        return context.begin();
    }
    template <class Context>
    auto format(const xg::Var& x, Context& context) const {
        const std::string text = xg::to_string(x);
        return std::copy(text.begin(), text.end(), context.out());
    }
};
