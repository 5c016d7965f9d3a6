#pragma once
// Data: datasets held in memory, the IDX files of MNIST and Fashion-MNIST, seeded synthetic sets,
// preprocessing fitted on the training split, and a DataLoader that serves shuffled mini-batches.
#include <xgrad/random.hpp>
#include <xgrad/var.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg::data {

/// Examples in rows: inputs (N, ...) and either class labels (classification) or targets (regression).
struct Dataset {
    xt::xarray<float> inputs;
    /// The class of each row, in [0, num_classes); empty for regression sets.
    std::vector<std::size_t> labels;
    /// Regression targets (N, k); empty for classification sets.
    xt::xarray<float> targets;
    std::size_t num_classes = 0;

    std::size_t size() const { return inputs.dimension() == 0 ? 0 : inputs.shape(0); }
    bool is_classification() const { return !labels.empty(); }
    /// The rows `indices`, in that order (repeats allowed).
    Dataset subset(const std::vector<std::size_t>& indices) const;
};

/// Two parts of a dataset: MNIST's training and test files, or a training split and its held-out rows.
struct Split {
    Dataset train;
    Dataset test;
};

// IDX files ---------------------------------------------------------------------------------------------------

/// Reads an IDX file (the format of MNIST: a big-endian header, then the array), plain or gzip-compressed,
/// any element type, converted to float. Throws DataError naming the file and what was wrong: bad magic,
/// unknown element type, truncated at byte N, bytes left over after the data.
xt::xarray<float> read_idx(const std::string& path);

/// Images (N, rows, cols) and their labels (N) from two IDX files, pixel values 0–255 as they are stored.
/// Throws DataError if either file is bad, if the counts differ, or if the label file is not 1-D bytes.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

/// MNIST's four files from `directory` (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
/// t10k-labels-idx1-ubyte, each plain or with .gz), which also is how Fashion-MNIST ships. `scale` divides pixels
/// by 255; `flatten` makes images rows of 784 (else (N, 28, 28)).
Split load_mnist(const std::string& directory, bool scale = true, bool flatten = true);

/// Where downloaded datasets are kept: $XGRAD_DATA_DIR, else $XDG_CACHE_HOME/xgrad, else ~/.cache/xgrad.
std::string cache_directory();

// Synthetic sets (each point drawn from `generator`) ------------------------------------------------------------

/// The XOR truth table: inputs cycle through (0,0), (0,1), (1,0), (1,1) plus normal(0, noise) jitter; the label
/// is x1 XOR x2. make_xor(4, g) is exactly the table.
Dataset make_xor(std::size_t n, Generator& generator, double noise = 0.0);
/// Two interleaved half circles, n/2 points each, with normal(0, noise) jitter.
Dataset make_moons(std::size_t n, Generator& generator, double noise = 0.1);
/// `classes` spiral arms of n_per_class points each, radius 0 → 1, angular noise normal(0, noise).
Dataset make_spirals(std::size_t n_per_class, std::size_t classes, Generator& generator, double noise = 0.2);
/// `classes` Gaussian clusters in `features` dimensions with centers uniform in [−10, 10) and spread `std`.
Dataset make_blobs(std::size_t n, std::size_t classes, std::size_t features, Generator& generator,
                   double std = 1.0);
/// The same around given centers (one row per class, one column per feature): point i belongs to class
/// i mod classes.
Dataset make_blobs(std::size_t n, const std::vector<std::vector<double>>& centers, Generator& generator,
                   double std = 1.0);
/// Regression: x uniform in [0, 1) (or, with evenly_spaced, the n points 0, 1/(n−1), …, 1), target
/// sin(2πx) + normal(0, noise).
Dataset make_sine(std::size_t n, Generator& generator, double noise = 0.1, bool evenly_spaced = false);

// Preprocessing -----------------------------------------------------------------------------------------------

/// Rows in a seeded random order.
Dataset shuffle(const Dataset& data, Generator& generator);
/// Shuffles, then holds out round(fraction · N) rows as `test`.
Split random_split(const Dataset& data, double test_fraction, Generator& generator);
/// (N, d1, d2, ...) inputs as (N, d1·d2·...).
Dataset flatten(const Dataset& data);
/// One row per label with a 1 in its column: (N, classes).
xt::xarray<float> one_hot(const std::vector<std::size_t>& labels, std::size_t classes);

/// Per-feature (x − mean) / std with statistics from the data given to fit (the training split only, so
/// nothing leaks from validation or test rows). Features with zero spread are only centered.
class StandardScaler {
public:
    StandardScaler& fit(const Dataset& train);
    /// The data with its inputs standardized; throws DataError before fit or on a different feature count.
    Dataset transform(const Dataset& data) const;
    const xt::xarray<float>& mean() const { return mean_; }
    const xt::xarray<float>& std() const { return std_; }

private:
    xt::xarray<float> mean_, std_;
};

/// Per-feature (x − min) / (max − min) into [0, 1] with the training split's range.
class MinMaxScaler {
public:
    MinMaxScaler& fit(const Dataset& train);
    Dataset transform(const Dataset& data) const;
    const xt::xarray<float>& min() const { return min_; }
    const xt::xarray<float>& max() const { return max_; }

private:
    xt::xarray<float> min_, max_;
};

// Mini-batches ------------------------------------------------------------------------------------------------

/// One mini-batch: inputs (B, ...) and the matching labels or targets.
struct Batch {
    Var inputs;
    std::vector<std::size_t> labels;
    Var targets;
    std::size_t size() const { return inputs.defined() ? inputs.shape()[0] : 0; }
};

struct DataLoaderOptions {
    std::size_t batch_size = 32;
    /// A new seeded order every epoch; in file order otherwise.
    bool shuffle = true;
    /// Skips the last batch when it would be smaller than batch_size.
    bool drop_last = false;
    std::uint64_t seed = 0;
    /// For data-parallel training, one process's share of every epoch, as PyTorch's DistributedSampler(num_replicas =
    /// shards, rank = shard) serves it: every process draws the same order (give each the same seed), repeats its
    /// first rows until `shards` divides it, and takes every shards-th row from row `shard`. Each share then has
    /// ⌈N / shards⌉ rows, in batches of batch_size. The defaults serve the whole set.
    std::size_t shards = 1;
    std::size_t shard = 0;
};

/// Serves a dataset in mini-batches; each pass (each begin()) is one epoch with a fresh order from its own
/// seeded generator, so a run is reproducible. Rows are gathered into batch arrays that are reused while
/// nobody else holds them (a graph that is still alive keeps its batch, and the loader takes new memory).
/// The loader refers to `data`, which must outlive it.
class DataLoader {
public:
    DataLoader(const Dataset& data, DataLoaderOptions options);

    class Iterator {
    public:
        using value_type = Batch;
        using difference_type = std::ptrdiff_t;
        const Batch& operator*() const { return loader_->batch_; }
        const Batch* operator->() const { return &loader_->batch_; }
        Iterator& operator++();
        bool operator==(const Iterator& other) const { return index_ == other.index_; }

    private:
        friend class DataLoader;
        Iterator(DataLoader* loader, std::size_t index) : loader_(loader), index_(index) {}
        DataLoader* loader_;
        std::size_t index_;
    };

    /// Starts an epoch: reshuffles (if shuffling) and gathers the first batch.
    Iterator begin();
    Iterator end() { return Iterator(this, size()); }
    /// Batches per epoch.
    std::size_t size() const;
    /// Rows per epoch: the dataset's, or its share's with shards.
    std::size_t rows() const { return order_.size(); }
    const Dataset& dataset() const { return data_; }
    const DataLoaderOptions& options() const { return options_; }

private:
    void gather(std::size_t batch_index);

    const Dataset& data_;
    DataLoaderOptions options_;
    Generator generator_;
    std::vector<std::size_t> order_;
    Batch batch_;
};

}  // namespace xg::data
