#pragma once
// The --layers flag of gemm_floor and mlp_epoch: "784,50,10" as the sizes of an MLP's layers, input first.
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

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
