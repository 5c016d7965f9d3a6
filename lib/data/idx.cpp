// IDX files, the format of MNIST and Fashion-MNIST, read through zlib, which passes plain files through unchanged;
// load_mnist's directory of them, and where downloaded datasets are kept.
#include <xgrad/data.hpp>
#include <xgrad/errors.hpp>

#include "data/dataset.hpp"
#include "support/element_count.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace xg::data {

namespace {

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

}  // namespace

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

}  // namespace xg::data
