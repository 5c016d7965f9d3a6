// Dataset::subset and the row operations of dataset.hpp that the other files of lib/data share.
#include "data/dataset.hpp"

#include <xgrad/errors.hpp>

#include "support/element_count.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <utility>

namespace xg::data {

std::size_t row_size(const xt::xarray<float>& a) {
    return a.dimension() == 0 || a.shape(0) == 0 ? 0 : a.size() / a.shape(0);
}

Shape with_rows(const Shape& shape, std::size_t rows) {
    Shape out = shape;
    out[0] = rows;
    return out;
}

float* reuse_or_allocate(Var& rows, const Shape& shape) {
    if (!rows.defined() || rows.use_count() != 1 || rows.shape() != shape)
        rows = Var(xt::xarray<float>::from_shape(shape));
    return rows.mutable_value<float>().data();
}

void gather_rows(const xt::xarray<float>& from, const std::size_t* rows, std::size_t count, float* to) {
    const std::size_t width = row_size(from);
    for (std::size_t i = 0; i < count; ++i) std::copy_n(from.data() + rows[i] * width, width, to + i * width);
}

void check_same_rows(const char* op, const Dataset& data) {
    const std::size_t n = data.size();
    if (data.inputs.dimension() == 0) throw DataError(fmt::format("{}: the dataset has no input rows", op));
    if (!data.labels.empty() && data.labels.size() != n)
        throw DataError(fmt::format("{}: {} input rows but {} labels", op, n, data.labels.size()));
    if (data.targets.dimension() != 0 && data.targets.shape(0) != n)
        throw DataError(fmt::format("{}: {} input rows but {} target rows", op, n, data.targets.shape(0)));
}

xt::xarray<float> uninitialised_rows(const char* op, std::size_t n, std::size_t width) {
    const Shape shape{n, width};
    if (!element_count(shape, sizeof(float)))
        throw DataError(fmt::format("{}: {} rows of {} features is too large: its extents multiply past 2^63 bytes",
                                    op, n, width));
    return xt::xarray<float>::from_shape(shape);
}

std::vector<std::size_t> permutation(std::size_t n, Generator& generator) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[generator.below(i)]);
    return order;
}

Dataset labelled(xt::xarray<float> inputs, std::vector<std::size_t> labels, std::size_t classes) {
    Dataset d;
    d.inputs = std::move(inputs);
    d.labels = std::move(labels);
    d.num_classes = classes;
    return d;
}

namespace {

xt::xarray<float> take_rows(const xt::xarray<float>& from, const std::vector<std::size_t>& rows) {
    xt::xarray<float> out = xt::xarray<float>::from_shape(with_rows(from.shape(), rows.size()));
    gather_rows(from, rows.data(), rows.size(), out.data());
    return out;
}

}  // namespace

Dataset Dataset::subset(const std::vector<std::size_t>& indices) const {
    for (std::size_t i : indices)
        if (i >= size()) throw DataError(fmt::format("Dataset::subset: row {} of a dataset of {} rows", i, size()));
    Dataset out;
    out.inputs = take_rows(inputs, indices);
    out.num_classes = num_classes;
    if (!labels.empty()) {
        out.labels.reserve(indices.size());
        for (std::size_t i : indices) out.labels.push_back(labels[i]);
    }
    if (targets.dimension() != 0) out.targets = take_rows(targets, indices);
    return out;
}

}  // namespace xg::data
