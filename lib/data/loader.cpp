// The DataLoader: a dataset served in mini-batches, in a fresh seeded order every epoch.
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>

#include "data/dataset.hpp"
#include "support/thread_pool.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <utility>

namespace xg::data {

namespace {

// The rows of `order` that this loader serves, into `share`: all of them, or with shards, `order` repeated from its
// start until `shards` divides its length, then every shards-th row from row `shard` (DistributedSampler's padding).
void take_share(std::vector<std::size_t> order, const DataLoaderOptions& options, std::vector<std::size_t>& share) {
    if (options.shards == 1 || order.empty()) {
        share = std::move(order);
        return;
    }
    share.resize((order.size() + options.shards - 1) / options.shards);
    for (std::size_t k = 0; k < share.size(); ++k)
        share[k] = order[(k * options.shards + options.shard) % order.size()];
}

std::vector<std::size_t> file_order(std::size_t rows) {
    std::vector<std::size_t> order(rows);
    for (std::size_t i = 0; i < rows; ++i) order[i] = i;
    return order;
}

}  // namespace

DataLoader::DataLoader(const Dataset& data, DataLoaderOptions options)
    : data_(data), options_(options), generator_(options.seed) {
    if (options_.batch_size == 0) throw DataError("DataLoader: batch_size must be positive");
    if (options_.shards == 0) throw DataError("DataLoader: shards must be at least 1");
    if (options_.shard >= options_.shards)
        throw DataError(fmt::format("DataLoader: shard {} is not below shards {} (shards count from 0)",
                                    options_.shard, options_.shards));
    check_same_rows("DataLoader", data_);
    take_share(file_order(data_.size()), options_, order_);
}

std::size_t DataLoader::size() const {
    const std::size_t n = rows(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::Iterator DataLoader::begin() {
    if (options_.shuffle) take_share(permutation(data_.size(), generator_), options_, order_);
    if (size() > 0) gather(0);
    return Iterator(this, 0);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    if (++index_ < loader_->size()) loader_->gather(index_);
    return *this;
}

void DataLoader::gather(std::size_t batch_index) {
    const std::size_t first = batch_index * options_.batch_size;
    const std::size_t rows = std::min(options_.batch_size, order_.size() - first);
    const std::size_t* indices = order_.data() + first;
    float* inputs = reuse_or_allocate(batch_.inputs, with_rows(data_.inputs.shape(), rows));
    // Shuffled rows are scattered over the whole set, so a copy waits on memory row by row; threads that each copy a
    // share of the rows wait at the same time.
    const std::size_t width = row_size(data_.inputs);
    constexpr std::size_t least_floats_per_thread = 32 * 1024;
    const std::size_t parts =
        std::clamp<std::size_t>(rows * width / least_floats_per_thread, 1, static_cast<std::size_t>(num_threads()));
    const auto gather_part = [&](std::size_t part) {
        const std::size_t begin = rows * part / parts, end = rows * (part + 1) / parts;
        gather_rows(data_.inputs, indices + begin, end - begin, inputs + begin * width);
    };
    thread_pool().run(parts, std::ref(gather_part));
    if (data_.targets.dimension() != 0)
        gather_rows(data_.targets, indices, rows,
                    reuse_or_allocate(batch_.targets, with_rows(data_.targets.shape(), rows)));
    batch_.labels.clear();
    if (!data_.labels.empty())
        for (std::size_t i = 0; i < rows; ++i) batch_.labels.push_back(data_.labels[indices[i]]);
}

}  // namespace xg::data
