// Printing variables and graphs.
#include "autograd/node.hpp"

#include <xgrad/format.hpp>

#include <xtensor/xio.hpp>

#include <sstream>
#include <unordered_map>

namespace xg {

std::string to_string(const Var& x) {
    if (!x.defined()) return "Var(undefined)";
    std::ostringstream out;
    // A scalar is one line, its value first, as PyTorch prints tensor(3.5000, requires_grad=True).
    const bool scalar = x.dim() == 0;
    if (scalar)
        out << "Var(" << visit(tensor_of(x), [](const auto& a) { return fmt::format("{}", *a.data()); });
    else
        out << "Var(shape=" << to_string(x.shape());
    out << ", " << dtype_name(x.dtype());
    if (!x.is_leaf()) out << ", op=" << x.op();
    if (!x.name().empty()) out << ", name=" << x.name();
    if (x.requires_grad()) out << ", requires_grad";
    out << ")";
    if (!scalar) {
        out << "\n";
        visit(tensor_of(x), [&](const auto& a) { out << a; });
    }
    return out.str();
}

std::ostream& operator<<(std::ostream& out, const Var& x) { return out << to_string(x); }

std::string to_dot(const Var& root) {
    require_defined("to_dot", root);
    std::unordered_map<const Node*, std::size_t> id;
    std::vector<const Node*> stack{root.node().get()};
    id[root.node().get()] = 0;
    std::string nodes, edges;
    while (!stack.empty()) {
        const Node* node = stack.back();
        stack.pop_back();
        const std::size_t me = id[node];
        const std::string shape = to_string(value_shape(*node));
        if (node->op) {
            nodes += fmt::format("  n{} [label=\"{}\\n{}\"];\n", me, node->op, shape);
        } else {
            const std::string label = node->name.empty() ? (node->requires_grad ? "parameter" : "constant") : node->name;
            nodes += fmt::format("  n{} [shape=box, label=\"{}\\n{}\"{}];\n", me, label, shape,
                                 node->requires_grad ? ", style=filled, fillcolor=lightblue" : "");
        }
        for (const auto& input : node->inputs) {
            auto [it, fresh] = id.emplace(input.get(), id.size());
            if (fresh) stack.push_back(input.get());
            edges += fmt::format("  n{} -> n{};\n", it->second, me);
        }
    }
    return fmt::format("digraph xgrad {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n{}{}}}\n", nodes, edges);
}

}  // namespace xg
