#pragma once
// The flags of compare.py's programs (mlp_epoch, gemm_floor, cnn_epoch, conv_floor): "--name value" pairs.
//   Flags flags(argc, argv);
//   flags.read("--batch", batch);   // sets batch if the flag was given
//   flags.finish();                 // throws for any flag no read() asked for, naming the ones it knows
#include <algorithm>
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

class Flags {
public:
    Flags(int argc, char** argv) {
        for (int i = 1; i < argc; i += 2) {
            if (i + 1 == argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
            given_.emplace_back(argv[i], argv[i + 1]);
        }
    }

    template <class T>
    void read(const std::string& name, T& value) {
        const std::string* text = given(name);
        if (!text) return;
        if constexpr (std::is_same_v<T, std::string>) {
            value = *text;
        } else {
            std::istringstream in(*text);
            if (!(in >> value) || !in.eof()) throw std::invalid_argument(name + ": cannot read '" + *text + "'");
        }
    }

    void finish() const {
        for (const auto& [flag, text] : given_)
            if (std::find(used_.begin(), used_.end(), flag) == used_.end())
                throw std::invalid_argument("unknown flag " + flag + " (" + known_ + ")");
    }

private:
    // The value given for `name`, or null; either way `name` is now a flag the program knows.
    const std::string* given(const std::string& name) {
        known_ += (known_.empty() ? "" : ", ") + name;
        used_.push_back(name);
        for (const auto& [flag, text] : given_)
            if (flag == name) return &text;
        return nullptr;
    }

    std::vector<std::pair<std::string, std::string>> given_;
    std::vector<std::string> used_;
    std::string known_;
};

/// "784,50,10" as the sizes of an MLP's layers, input first (--layers).
inline std::vector<std::size_t> parse_layers(const std::string& text) {
    std::vector<std::size_t> layers;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        layers.push_back(std::stoul(text.substr(start, comma - start)));
        start = comma + 1;
    }
    if (layers.size() < 2) throw std::invalid_argument("--layers needs at least two sizes, e.g. 784,50,10");
    return layers;
}
