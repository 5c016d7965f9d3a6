// The seeds' apple example (backprop chapter, AddLayer/MulLayer): two apples at 100, three oranges at 150,
// 10% tax. The seed builds one layer object per multiply and calls backward by hand; here the graph is
// recorded by the arithmetic itself and one backward() gives every derivative.
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

int main() {
    xg::Var apple(100.0, true), apple_num(2.0, true), orange(150.0, true), orange_num(3.0, true), tax(1.1, true);
    apple.set_name("apple");
    apple_num.set_name("apple_num");
    orange.set_name("orange");
    orange_num.set_name("orange_num");
    tax.set_name("tax");

    xg::Var price = (apple * apple_num + orange * orange_num) * tax;
    fmt::print("graph (paste into `dot -Tsvg`):\n{}\n", xg::to_dot(price));
    price.backward();

    // Expected values are the exact derivatives (seed 003 and the book). Doubles round 1.1 · 650 etc.
    // the same way Python does, so the digits match what the seed's Python prints (715.0000000000001).
    const struct { const char* name; double value, expected; } rows[] = {
        {"price", price.item(), 715},           {"d apple", apple.grad().item(), 2.2},
        {"d apple_num", apple_num.grad().item(), 110}, {"d orange", orange.grad().item(), 3.3},
        {"d orange_num", orange_num.grad().item(), 165}, {"d tax", tax.grad().item(), 650},
    };
    fmt::print("{:<12} {:>20} {:>10}\n", "", "xgrad", "expected");
    for (const auto& row : rows) fmt::print("{:<12} {:>20} {:>10}\n", row.name, row.value, row.expected);
}
