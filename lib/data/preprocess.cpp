// Preprocessing: shuffling and splitting rows, flattening, one-hot labels, and the scalers, which are fitted on the
// training split only.
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>

#include "data/dataset.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace xg::data {

namespace {

// Inputs seen as (N, features) for the scalers.
std::size_t feature_count(const char* op, const Dataset& data) {
    if (data.size() == 0) throw DataError(fmt::format("{}: the dataset is empty", op));
    return row_size(data.inputs);
}

void check_fitted(const char* op, const xt::xarray<float>& statistic, const Dataset& data) {
    if (statistic.dimension() == 0) throw DataError(fmt::format("{}: transform before fit", op));
    if (row_size(data.inputs) != statistic.size())
        throw DataError(fmt::format("{}: fitted on {} features, given rows of {}", op, statistic.size(),
                                    row_size(data.inputs)));
}

// (x − offset) / scale per feature.
Dataset rescale(const Dataset& data, const xt::xarray<float>& offset, const xt::xarray<float>& scale) {
    Dataset out = data;
    const std::size_t features = offset.size();
    float* x = out.inputs.data();
    for (std::size_t r = 0; r < out.size(); ++r, x += features)
        for (std::size_t f = 0; f < features; ++f) x[f] = (x[f] - offset(f)) / scale(f);
    return out;
}

}  // namespace

Dataset shuffle(const Dataset& data, Generator& generator) {
    check_same_rows("shuffle", data);
    return data.subset(permutation(data.size(), generator));
}

Split random_split(const Dataset& data, double test_fraction, Generator& generator) {
    check_same_rows("random_split", data);
    if (!(test_fraction >= 0.0 && test_fraction < 1.0))
        throw DataError(fmt::format("random_split: test_fraction must be in [0, 1), got {}", test_fraction));
    const std::vector<std::size_t> order = permutation(data.size(), generator);
    const auto test_rows = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(data.size())));
    const auto middle = order.end() - static_cast<std::ptrdiff_t>(test_rows);
    return {data.subset({order.begin(), middle}), data.subset({middle, order.end()})};
}

Dataset flatten(const Dataset& data) {
    Dataset out = data;
    out.inputs.reshape({data.size(), row_size(data.inputs)});
    return out;
}

xt::xarray<float> one_hot(const std::vector<std::size_t>& labels, std::size_t classes) {
    xt::xarray<float> out = uninitialised_rows("one_hot", labels.size(), classes);
    std::fill(out.begin(), out.end(), 0.0f);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] >= classes)
            throw DataError(fmt::format("one_hot: label {} of row {} is not below {} classes", labels[i], i, classes));
        out(i, labels[i]) = 1.0f;
    }
    return out;
}

StandardScaler& StandardScaler::fit(const Dataset& train) {
    const std::size_t features = feature_count("StandardScaler::fit", train);
    std::vector<double> sum(features, 0.0), square(features, 0.0);
    const float* x = train.inputs.data();
    for (std::size_t r = 0; r < train.size(); ++r, x += features)
        for (std::size_t f = 0; f < features; ++f) {
            sum[f] += x[f];
            square[f] += static_cast<double>(x[f]) * x[f];
        }
    mean_ = xt::xarray<float>::from_shape({features});
    std_ = xt::xarray<float>::from_shape({features});
    const auto n = static_cast<double>(train.size());
    for (std::size_t f = 0; f < features; ++f) {
        if (!std::isfinite(sum[f]) || !std::isfinite(square[f]))
            throw DataError(fmt::format("StandardScaler::fit: feature {} has a NaN or infinite value", f));
        const double mean = sum[f] / n;
        const double spread = std::sqrt(std::max(square[f] / n - mean * mean, 0.0));
        mean_(f) = static_cast<float>(mean);
        std_(f) = spread > 0.0 ? static_cast<float>(spread) : 1.0f;
    }
    return *this;
}

Dataset StandardScaler::transform(const Dataset& data) const {
    check_fitted("StandardScaler::transform", mean_, data);
    return rescale(data, mean_, std_);
}

MinMaxScaler& MinMaxScaler::fit(const Dataset& train) {
    const std::size_t features = feature_count("MinMaxScaler::fit", train);
    min_ = xt::xarray<float>::from_shape({features});
    max_ = xt::xarray<float>::from_shape({features});
    std::copy_n(train.inputs.data(), features, min_.data());
    std::copy_n(train.inputs.data(), features, max_.data());
    const float* x = train.inputs.data();
    for (std::size_t r = 0; r < train.size(); ++r, x += features)
        for (std::size_t f = 0; f < features; ++f) {
            if (!std::isfinite(x[f]))
                throw DataError(fmt::format("MinMaxScaler::fit: feature {} of row {} is {}", f, r, x[f]));
            min_(f) = std::min(min_(f), x[f]);
            max_(f) = std::max(max_(f), x[f]);
        }
    return *this;
}

Dataset MinMaxScaler::transform(const Dataset& data) const {
    check_fitted("MinMaxScaler::transform", min_, data);
    xt::xarray<float> range = max_ - min_;
    for (float& r : range)
        if (r == 0.0f) r = 1.0f;
    return rescale(data, min_, range);
}

}  // namespace xg::data
