// The seeds' apple example (backprop chapter, AddLayer/MulLayer): two apples at 100, three oranges at 150,
// 10% tax. The seed builds one layer object per multiply and calls backward by hand; here the graph is
// recorded by the arithmetic itself and one backward() gives every derivative. The flags change the prices,
// counts and tax; the expected column is the derivative worked out by hand.
#include "sample.hpp"

int run(int argc, char** argv) {
    double apple_price = 100, apples = 2, orange_price = 150, oranges = 3, tax_rate = 1.1;
    CLI::App app("The seeds' apple and orange graph: forward, backward, and every derivative");
    app.add_option("--apple-price", apple_price)->check(sample::finite())->capture_default_str();
    app.add_option("--apples", apples, "how many apples")->check(sample::finite())->capture_default_str();
    app.add_option("--orange-price", orange_price)->check(sample::finite())->capture_default_str();
    app.add_option("--oranges", oranges, "how many oranges")->check(sample::finite())->capture_default_str();
    app.add_option("--tax", tax_rate, "the factor the sum is multiplied by")
        ->check(sample::finite())
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    xg::Var apple(apple_price, true), apple_num(apples, true), orange(orange_price, true), orange_num(oranges, true),
        tax(tax_rate, true);
    apple.set_name("apple");
    apple_num.set_name("apple_num");
    orange.set_name("orange");
    orange_num.set_name("orange_num");
    tax.set_name("tax");

    xg::Var price = (apple * apple_num + orange * orange_num) * tax;
    fmt::print("graph (paste into `dot -Tsvg`):\n{}\n", xg::to_dot(price));
    price.backward();

    // With the defaults these are the seed's numbers: 715, 2.2, 110, 3.3, 165, 650. Doubles round 1.1 · 650 etc.
    // the same way Python does, so the digits match what the seed's Python prints (715.0000000000001).
    const struct { const char* name; double value, expected; } rows[] = {
        {"price", price.item(), (apple_price * apples + orange_price * oranges) * tax_rate},
        {"d apple", apple.grad().item(), apples * tax_rate},
        {"d apple_num", apple_num.grad().item(), apple_price * tax_rate},
        {"d orange", orange.grad().item(), oranges * tax_rate},
        {"d orange_num", orange_num.grad().item(), orange_price * tax_rate},
        {"d tax", tax.grad().item(), apple_price * apples + orange_price * oranges},
    };
    fmt::print("{:<12} {:>20} {:>10}\n", "", "xgrad", "expected");
    for (const auto& row : rows) fmt::print("{:<12} {:>20} {:>10}\n", row.name, row.value, row.expected);
    return 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
