#pragma once
// The IDX readers on one input: read_idx on the file itself, then, when it is a valid array, load_mnist on a
// directory where it is the images (with made-up labels to match) or the labels (with made-up images), so the
// checks past the parser (dimensions, counts, label values, scaling, flattening) see the fuzzer's bytes too.
#include "fuzz_input.hpp"

#include <xgrad/data.hpp>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

namespace fuzz {

inline std::string idx_header(unsigned char type, std::initializer_list<std::uint32_t> shape) {
    std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(shape.size())};
    for (std::uint32_t d : shape)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
    return out;
}

inline void exercise_idx(std::string_view idx, bool compress) {
    const std::string stored = compress ? gzip(idx) : std::string(idx);
    const std::string path = scratch() / "input.idx";
    write_file(path, stored);
    xt::xarray<float> values;
    if (!accepts([&] { values = xg::data::read_idx(path); })) return;

    // Companions are built only for small counts: the point is the fuzzed file, not a made-up one of gigabytes.
    constexpr std::size_t max_companion = 1 << 16;
    if (values.dimension() == 0 || values.shape(0) > max_companion) return;
    const auto n = static_cast<std::uint32_t>(values.shape(0));
    const std::filesystem::path directory = scratch().path() / "mnist";
    std::filesystem::create_directories(directory);
    const auto both_splits = [&](std::string_view images, std::string_view labels) {
        for (const std::string split : {"train", "t10k"}) {
            write_file((directory / (split + "-images-idx3-ubyte")).string(), images);
            write_file((directory / (split + "-labels-idx1-ubyte")).string(), labels);
        }
    };
    if (values.dimension() >= 2) {
        std::string labels = idx_header(0x08, {n});
        for (std::uint32_t i = 0; i < n; ++i) labels.push_back(static_cast<char>(i % 10));
        both_splits(stored, labels);
    } else {
        both_splits(idx_header(0x08, {n, 1, 1}) + std::string(n, '\0'), stored);
    }
    accepts([&] { xg::data::load_mnist(directory.string(), true, true); });
    accepts([&] { xg::data::load_mnist(directory.string(), false, false); });
}

}  // namespace fuzz
