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

/// The fmt formatter of a type printed as xg::to_string(value) gives it. It takes no format spec: the text is copied
/// as it is, so that fmt's fill-and-width parser, which g++ 12 warns about (-Wstringop-overflow) in every file that
/// instantiates it, never is.
template <class T>
struct ToStringFormatter {
    constexpr auto parse(fmt::format_parse_context& context) {
        if (context.begin() != context.end() && *context.begin() != '}')
            throw fmt::format_error("xgrad's types take no format spec: use \"{}\"");
        return context.begin();
    }
    template <class Context>
    auto format(const T& value, Context& context) const {
        const std::string text = to_string(value);
        return std::copy(text.begin(), text.end(), context.out());
    }
};
}  // namespace xg

/// `fmt::print("{}", x)`.
template <>
struct fmt::formatter<xg::Var> : xg::ToStringFormatter<xg::Var> {};
