// Datasets, IDX files (read through zlib, which passes plain files through unchanged), synthetic sets,
// preprocessing and the DataLoader.
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>

#include "support/checks.hpp"
#include "support/element_count.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numbers>
#include <optional>

namespace xg::data {

namespace {

std::size_t row_size(const xt::xarray<float>& a) {
    return a.dimension() == 0 || a.shape(0) == 0 ? 0 : a.size() / a.shape(0);
}

Shape with_rows(const Shape& shape, std::size_t rows) {
    Shape out = shape;
    out[0] = rows;
    return out;
}

void gather_rows(const xt::xarray<float>& from, const std::size_t* rows, std::size_t count, float* to) {
    const std::size_t width = row_size(from);
    for (std::size_t i = 0; i < count; ++i) std::copy_n(from.data() + rows[i] * width, width, to + i * width);
}

xt::xarray<float> take_rows(const xt::xarray<float>& from, const std::vector<std::size_t>& rows) {
    xt::xarray<float> out = xt::xarray<float>::from_shape(with_rows(from.shape(), rows.size()));
    gather_rows(from, rows.data(), rows.size(), out.data());
    return out;
}

// IDX --------------------------------------------------------------------------------------------------------

struct ElementType {
    std::uint8_t code;
    const char* name;
    std::size_t bytes;
    bool integer;
};

constexpr ElementType element_types[] = {
    {0x08, "unsigned byte", 1, true}, {0x09, "signed byte", 1, true}, {0x0B, "int16", 2, true},
    {0x0C, "int32", 4, true},         {0x0D, "float32", 4, false},    {0x0E, "float64", 8, false},
};

struct IdxArray {
    ElementType type;
    xt::xarray<float> values;
};

struct GzFile {
    void operator()(gzFile f) const { gzclose(f); }
};

// An IDX file read front to back through zlib, which passes plain files through unchanged. Offsets count
// decompressed bytes.
class IdxReader {
public:
    IdxReader(const std::string& op, const std::string& path) : op_(op), path_(path) {
        struct stat info;
        if (::stat(path.c_str(), &info) != 0)
            throw DataError(fmt::format("{}: cannot open '{}': {}", op, path, std::strerror(errno)));
        if (!S_ISREG(info.st_mode)) fail("not a regular file");
        file_size_ = static_cast<std::uint64_t>(info.st_size);
        errno = 0;
        file_.reset(gzopen(path.c_str(), "rb"));
        if (!file_)
            throw DataError(fmt::format("{}: cannot open '{}': {}", op, path,
                                        errno ? std::strerror(errno) : "out of memory"));
        gzbuffer(file_.get(), 1 << 17);
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw DataError(fmt::format("{}: '{}': {}", op_, path_, what));
    }

    // Up to `count` bytes; fewer only at the end of the data.
    std::size_t read(unsigned char* to, std::size_t count) {
        std::size_t got = 0;
        while (got < count) {
            const auto want = static_cast<unsigned>(std::min<std::size_t>(count - got, 1 << 30));
            const int n = gzread(file_.get(), to + got, want);
            int code = Z_OK;
            std::string message = gzerror(file_.get(), &code);
            // zlib hands out what it decompressed before a damaged or truncated part; the error comes with the
            // read that finds nothing more.
            if (n < 0 || (n == 0 && code != Z_OK && code != Z_STREAM_END)) {
                // zlib puts the file name in front of its message; ours already names it.
                if (message.starts_with(path_ + ": ")) message.erase(0, path_.size() + 2);
                fail(fmt::format("corrupt gzip data after {} decompressed bytes: {}", offset_ + got, message));
            }
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        offset_ += got;
        return got;
    }

    // How many bytes are left, counting no further than `limit`: a small gzip file can inflate for minutes.
    std::size_t count_rest(std::size_t limit) {
        std::vector<unsigned char> rest(limit);
        return read(rest.data(), limit);
    }

    bool compressed() { return gzdirect(file_.get()) == 0; }
    std::uint64_t file_size() const { return file_size_; }
    std::uint64_t offset() const { return offset_; }

private:
    std::string op_, path_;
    std::unique_ptr<gzFile_s, GzFile> file_;
    std::uint64_t file_size_ = 0;
    std::uint64_t offset_ = 0;
};

std::uint32_t big_endian_u32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

template <class T>
float element(const unsigned char* p) {
    std::conditional_t<sizeof(T) == 8, std::uint64_t,
                       std::conditional_t<sizeof(T) == 4, std::uint32_t,
                                          std::conditional_t<sizeof(T) == 2, std::uint16_t, std::uint8_t>>>
        bits = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) bits = static_cast<decltype(bits)>((bits << 8) | p[i]);
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return static_cast<float>(v);
}

// Converts `count` big-endian elements of `type` to floats.
void convert(const ElementType& type, const unsigned char* data, std::size_t count, float* out) {
    switch (type.code) {
        case 0x08: for (std::size_t i = 0; i < count; ++i) out[i] = data[i]; break;
        case 0x09: for (std::size_t i = 0; i < count; ++i) out[i] = element<std::int8_t>(data + i); break;
        case 0x0B: for (std::size_t i = 0; i < count; ++i) out[i] = element<std::int16_t>(data + 2 * i); break;
        case 0x0C: for (std::size_t i = 0; i < count; ++i) out[i] = element<std::int32_t>(data + 4 * i); break;
        case 0x0D: for (std::size_t i = 0; i < count; ++i) out[i] = element<float>(data + 4 * i); break;
        default: for (std::size_t i = 0; i < count; ++i) out[i] = element<double>(data + 8 * i); break;
    }
}

// The header is read and checked against what the file can hold before anything is allocated for the data,
// which is then converted as it is decompressed.
IdxArray parse_idx(const std::string& op, const std::string& path) {
    IdxReader file(op, path);
    unsigned char magic[4];
    const std::size_t got = file.read(magic, 4);
    const std::string where = file.compressed() ? " of the decompressed data" : "";
    if (got < 4)
        file.fail(fmt::format("truncated at byte {}{}: an IDX file starts with a 4-byte magic number", got, where));
    if (magic[0] != 0 || magic[1] != 0)
        file.fail(fmt::format("bad magic number 0x{:08x}: not an IDX file (its first two bytes must be zero)",
                              big_endian_u32(magic)));
    const ElementType* type = std::find_if(std::begin(element_types), std::end(element_types),
                                           [&](const ElementType& t) { return t.code == magic[2]; });
    if (type == std::end(element_types))
        file.fail(fmt::format("bad magic number 0x{:08x}: unknown element type 0x{:02x} at byte 2",
                              big_endian_u32(magic), magic[2]));
    const std::size_t dims = magic[3];
    if (dims == 0)
        file.fail(fmt::format("bad magic number 0x{:08x}: zero dimensions at byte 3", big_endian_u32(magic)));
    const std::size_t header = 4 + 4 * dims;
    std::vector<unsigned char> extents(4 * dims);
    if (const std::size_t n = file.read(extents.data(), extents.size()); n < extents.size())
        file.fail(fmt::format("truncated at byte {}{}: the header declares {} dimensions, which need {} bytes",
                              4 + n, where, dims, header));

    Shape shape(dims);
    for (std::size_t d = 0; d < dims; ++d) shape[d] = big_endian_u32(extents.data() + 4 * d);
    // Each element is stored in type->bytes and held as a 4-byte float.
    const std::optional<std::size_t> counted = element_count(shape, std::max<std::size_t>(type->bytes, 4));
    if (!counted) file.fail(fmt::format("the dimensions in the header overflow: {}", to_string(shape)));
    const std::size_t count = *counted;
    const std::uint64_t expected = header + count * type->bytes;
    if (!file.compressed()) {
        if (file.file_size() < expected)
            file.fail(fmt::format("truncated at byte {}: shape {} of {} needs {} bytes", file.file_size(),
                                  to_string(shape), type->name, expected));
        if (file.file_size() > expected)
            file.fail(fmt::format("{} unexpected bytes after the data, which ends at byte {}: shape {} of {}",
                                  file.file_size() - expected, expected, to_string(shape), type->name));
    } else if (expected > file.file_size() * deflate_expansion) {
        file.fail(fmt::format("shape {} of {} needs {} bytes, more than {} compressed bytes can hold",
                              to_string(shape), type->name, expected, file.file_size()));
    }

    xt::xarray<float> values = xt::xarray<float>::from_shape(shape);
    std::vector<unsigned char> chunk(std::min<std::size_t>(count, 1 << 16) * type->bytes);
    for (std::size_t done = 0; done < count;) {
        const std::size_t elements = std::min(count - done, chunk.size() / type->bytes);
        const std::size_t n = file.read(chunk.data(), elements * type->bytes);
        if (n < elements * type->bytes)
            file.fail(fmt::format("truncated at byte {}{}: shape {} of {} needs {} bytes", file.offset(), where,
                                  to_string(shape), type->name, expected));
        convert(*type, chunk.data(), elements, values.data() + done);
        done += elements;
    }
    constexpr std::size_t reported = 1 << 16;
    if (const std::size_t extra = file.count_rest(reported); extra > 0)
        file.fail(fmt::format("{}{} unexpected bytes after the data, which ends at byte {}{}: shape {} of {}", extra,
                              extra == reported ? " or more" : "", expected, where, to_string(shape), type->name));
    return {*type, std::move(values)};
}

std::string mnist_file(const std::string& directory, const std::string& name) {
    namespace fs = std::filesystem;
    for (const std::string& candidate : {name, name + ".gz"}) {
        const fs::path path = fs::path(directory) / candidate;
        if (fs::exists(path)) return path.string();
    }
    throw DataError(fmt::format("load_mnist: '{}' has no {} (nor {}.gz)", directory, name, name));
}

void check_same_rows(const char* op, const Dataset& data) {
    const std::size_t n = data.size();
    if (data.inputs.dimension() == 0) throw DataError(fmt::format("{}: the dataset has no input rows", op));
    if (!data.labels.empty() && data.labels.size() != n)
        throw DataError(fmt::format("{}: {} input rows but {} labels", op, n, data.labels.size()));
    if (data.targets.dimension() != 0 && data.targets.shape(0) != n)
        throw DataError(fmt::format("{}: {} input rows but {} target rows", op, n, data.targets.shape(0)));
}

// An uninitialised (n, width) array, its shape checked like any shape a user gives.
xt::xarray<float> uninitialised_rows(const char* op, std::size_t n, std::size_t width) {
    const Shape shape{n, width};
    if (!element_count(shape, sizeof(float)))
        throw DataError(fmt::format("{}: {} rows of {} features is too large: its extents multiply past 2^63 bytes",
                                    op, n, width));
    return xt::xarray<float>::from_shape(shape);
}

// Noise or spread as a standard deviation: a NaN or infinite one would only make a set of NaN.
void check_spread(const char* op, const char* name, double value) {
    require_non_negative<DataError>(op, name, value);
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

xt::xarray<float> read_idx(const std::string& path) { return parse_idx("read_idx", path).values; }

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
    IdxArray images = parse_idx("load_idx", images_path);
    const IdxArray labels = parse_idx("load_idx", labels_path);
    if (images.values.dimension() < 2)
        throw DataError(fmt::format("load_idx: '{}' has shape {}: images need at least 2 dimensions (N, ...)",
                                    images_path, to_string(images.values.shape())));
    if (labels.values.dimension() != 1 || !labels.type.integer)
        throw DataError(fmt::format("load_idx: '{}' holds {} of shape {}: labels must be a 1-D integer array",
                                    labels_path, labels.type.name, to_string(labels.values.shape())));
    if (labels.values.size() != images.values.shape(0))
        throw DataError(fmt::format("load_idx: '{}' has {} images but '{}' has {} labels", images_path,
                                    images.values.shape(0), labels_path, labels.values.size()));
    std::vector<std::size_t> classes(labels.values.size());
    std::size_t num_classes = 0;
    for (std::size_t i = 0; i < classes.size(); ++i) {
        const float v = labels.values(i);
        if (v < 0)
            throw DataError(fmt::format("load_idx: '{}': label {} is {}; labels must not be negative", labels_path,
                                        i, v));
        classes[i] = static_cast<std::size_t>(v);
        num_classes = std::max(num_classes, classes[i] + 1);
    }
    return labelled(std::move(images.values), std::move(classes), num_classes);
}

Split load_mnist(const std::string& directory, bool scale, bool flatten_images) {
    if (!std::filesystem::is_directory(directory))
        throw DataError(fmt::format("load_mnist: no directory '{}'", directory));
    const auto part = [&](const std::string& prefix) {
        const std::string images = mnist_file(directory, prefix + "-images-idx3-ubyte");
        const std::string labels = mnist_file(directory, prefix + "-labels-idx1-ubyte");
        Dataset d = load_idx(images, labels);
        // Digits are 0 to 9; anything else would only fail later, in a loss that cannot name the file.
        for (std::size_t i = 0; i < d.labels.size(); ++i)
            if (d.labels[i] > 9)
                throw DataError(fmt::format("load_mnist: '{}': label {} at index {} is not a digit 0-9", labels,
                                            d.labels[i], i));
        d.num_classes = 10;
        if (scale) d.inputs /= 255.0f;
        return flatten_images ? flatten(d) : d;
    };
    return {part("train"), part("t10k")};
}

std::string cache_directory() {
    if (const char* dir = std::getenv("XGRAD_DATA_DIR"); dir && *dir) return dir;
    if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache) return std::string(cache) + "/xgrad";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/xgrad";
    throw DataError("cache_directory: none of XGRAD_DATA_DIR, XDG_CACHE_HOME and HOME is set");
}

// Synthetic sets -------------------------------------------------------------------------------------------------

Dataset make_xor(std::size_t n, Generator& generator, double noise) {
    check_spread("make_xor", "noise", noise);
    xt::xarray<float> x = uninitialised_rows("make_xor", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t a = (i >> 1) & 1, b = i & 1;
        x(i, 0) = static_cast<float>(static_cast<double>(a) + noise * generator.normal());
        x(i, 1) = static_cast<float>(static_cast<double>(b) + noise * generator.normal());
        labels[i] = a ^ b;
    }
    return labelled(std::move(x), std::move(labels), 2);
}

Dataset make_moons(std::size_t n, Generator& generator, double noise) {
    check_spread("make_moons", "noise", noise);
    xt::xarray<float> x = uninitialised_rows("make_moons", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double t = std::numbers::pi * generator.uniform();
        labels[i] = i % 2;
        // The lower arc is the upper one turned over and moved right by 1 and down by 0.5.
        const double px = labels[i] == 0 ? std::cos(t) : 1.0 - std::cos(t);
        const double py = labels[i] == 0 ? std::sin(t) : 0.5 - std::sin(t);
        x(i, 0) = static_cast<float>(px + noise * generator.normal());
        x(i, 1) = static_cast<float>(py + noise * generator.normal());
    }
    return labelled(std::move(x), std::move(labels), 2);
}

Dataset make_spirals(std::size_t n_per_class, std::size_t classes, Generator& generator, double noise) {
    check_spread("make_spirals", "noise", noise);
    std::size_t n = 0;
    if (__builtin_mul_overflow(n_per_class, classes, &n))
        throw DataError(fmt::format("make_spirals: {} classes of {} points is too large", classes, n_per_class));
    xt::xarray<float> x = uninitialised_rows("make_spirals", n, 2);
    std::vector<std::size_t> labels(n);
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t j = 0; j < n_per_class; ++j) {
            const std::size_t i = c * n_per_class + j;
            const double fraction = n_per_class > 1 ? static_cast<double>(j) / static_cast<double>(n_per_class - 1) : 0;
            const double angle = 4.0 * (static_cast<double>(c) + fraction) + noise * generator.normal();
            x(i, 0) = static_cast<float>(fraction * std::sin(angle));
            x(i, 1) = static_cast<float>(fraction * std::cos(angle));
            labels[i] = c;
        }
    return labelled(std::move(x), std::move(labels), classes);
}

Dataset make_blobs(std::size_t n, std::size_t classes, std::size_t features, Generator& generator, double std) {
    if (classes == 0) throw DataError("make_blobs: classes must be positive");
    std::vector<std::vector<double>> centers(classes, std::vector<double>(features));
    for (auto& center : centers)
        for (double& c : center) c = -10.0 + 20.0 * generator.uniform();
    return make_blobs(n, centers, generator, std);
}

Dataset make_blobs(std::size_t n, const std::vector<std::vector<double>>& centers, Generator& generator,
                   double std) {
    if (centers.empty()) throw DataError("make_blobs: needs at least one center");
    check_spread("make_blobs", "std", std);
    const std::size_t classes = centers.size(), features = centers[0].size();
    for (std::size_t c = 1; c < classes; ++c)
        if (centers[c].size() != features)
            throw DataError(fmt::format("make_blobs: center {} has {} coordinates, center 0 has {}", c,
                                        centers[c].size(), features));
    for (const auto& center : centers)
        for (const double c : center)
            if (!std::isfinite(c)) throw DataError(fmt::format("make_blobs: a center coordinate is {}", c));
    xt::xarray<float> x = uninitialised_rows("make_blobs", n, features);
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = i % classes;
        for (std::size_t f = 0; f < features; ++f)
            x(i, f) = static_cast<float>(centers[labels[i]][f] + std * generator.normal());
    }
    return labelled(std::move(x), std::move(labels), classes);
}

Dataset make_sine(std::size_t n, Generator& generator, double noise, bool evenly_spaced) {
    check_spread("make_sine", "noise", noise);
    Dataset d;
    d.inputs = uninitialised_rows("make_sine", n, 1);
    d.targets = uninitialised_rows("make_sine", n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = !evenly_spaced ? generator.uniform()
                         : n == 1       ? 0.0
                                        : static_cast<double>(i) / static_cast<double>(n - 1);
        d.inputs(i, 0) = static_cast<float>(x);
        d.targets(i, 0) = static_cast<float>(std::sin(2.0 * std::numbers::pi * x) + noise * generator.normal());
    }
    return d;
}

// Preprocessing ----------------------------------------------------------------------------------------------------

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

// DataLoader ---------------------------------------------------------------------------------------------------------

DataLoader::DataLoader(const Dataset& data, DataLoaderOptions options)
    : data_(data), options_(options), generator_(options.seed) {
    if (options_.batch_size == 0) throw DataError("DataLoader: batch_size must be positive");
    check_same_rows("DataLoader", data_);
    order_.resize(data_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
}

std::size_t DataLoader::size() const {
    const std::size_t n = data_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::Iterator DataLoader::begin() {
    if (options_.shuffle) order_ = permutation(data_.size(), generator_);
    if (size() > 0) gather(0);
    return Iterator(this, 0);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    if (++index_ < loader_->size()) loader_->gather(index_);
    return *this;
}

namespace {
// The batch's array to fill: the previous one if nobody else holds it and it has the right shape.
float* reuse_or_allocate(Var& batch, const xt::xarray<float>& source, std::size_t rows) {
    const Shape shape = with_rows(source.shape(), rows);
    if (!batch.defined() || batch.use_count() != 1 || batch.shape() != shape)
        batch = Var(xt::xarray<float>::from_shape(shape));
    return batch.mutable_value<float>().data();
}
}  // namespace

void DataLoader::gather(std::size_t batch_index) {
    const std::size_t first = batch_index * options_.batch_size;
    const std::size_t rows = std::min(options_.batch_size, data_.size() - first);
    const std::size_t* indices = order_.data() + first;
    gather_rows(data_.inputs, indices, rows, reuse_or_allocate(batch_.inputs, data_.inputs, rows));
    if (data_.targets.dimension() != 0)
        gather_rows(data_.targets, indices, rows, reuse_or_allocate(batch_.targets, data_.targets, rows));
    batch_.labels.clear();
    if (!data_.labels.empty())
        for (std::size_t i = 0; i < rows; ++i) batch_.labels.push_back(data_.labels[indices[i]]);
}

}  // namespace xg::data
