// Data: IDX files (good ones of every element type, plain and gzip, and one test per way a file can be bad),
// synthetic sets, splits without leakage, scalers fitted on training rows only, and the DataLoader.
#include "check.hpp"

#include <cmath>
#include <limits>

#include <fmt/core.h>
#include <xtensor/xmath.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>

using check::TempDir;
namespace data = xg::data;

namespace {

using Bytes = std::string;

Bytes u32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX header: two zero bytes, the type code, the dimension count, then each dimension.
Bytes header(unsigned char type, const std::vector<std::uint32_t>& dims) {
    Bytes b = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
    for (std::uint32_t d : dims) b += u32(d);
    return b;
}

void write(const std::string& path, const Bytes& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const std::string& path, const Bytes& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(f) == Z_OK);
}

Bytes read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Three 2×2 images with pixels 0..11, and labels 2, 0, 1.
const Bytes images = header(0x08, {3, 2, 2}) + Bytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
const Bytes labels = header(0x08, {3}) + Bytes{2, 0, 1};

std::string message_of(const std::function<void()>& f) { return check::error_message<xg::DataError>(f); }

std::string idx_error(const TempDir& dir, const Bytes& bytes) {
    const std::string path = dir / "bad.idx";
    write(path, bytes);
    return message_of([&] { data::read_idx(path); });
}

// A dataset whose single input column is the row number, so rows can be traced through splits and loaders.
data::Dataset numbered(std::size_t n) {
    data::Dataset d;
    d.inputs = xt::xarray<float>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) {
        d.inputs(i, 0) = static_cast<float>(i);
        d.labels.push_back(i % 3);
    }
    d.num_classes = 3;
    return d;
}

std::vector<std::size_t> rows_of(const data::Dataset& d) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < d.size(); ++i) rows.push_back(static_cast<std::size_t>(d.inputs(i, 0)));
    return rows;
}

std::vector<std::size_t> rows_of(const data::Batch& b) {
    std::vector<std::size_t> rows;
    for (float v : b.inputs.value<float>()) rows.push_back(static_cast<std::size_t>(v));
    return rows;
}

}  // namespace

TEST_CASE("read_idx reads every element type, big-endian, plain and gzip") {
    TempDir dir;
    write(dir / "u8", images);
    const xt::xarray<float> pixels = data::read_idx(dir / "u8");
    CHECK(pixels.shape() == xg::Shape{3, 2, 2});
    CHECK(pixels(2, 1, 1) == 11.0f);
    CHECK(pixels(1, 0, 1) == 5.0f);

    write_gzip(dir / "u8.gz", images);
    CHECK(data::read_idx(dir / "u8.gz") == pixels);

    write(dir / "i8", header(0x09, {2}) + Bytes{'\xff', 7});
    CHECK(data::read_idx(dir / "i8") == xt::xarray<float>{-1, 7});
    write(dir / "i16", header(0x0B, {2}) + Bytes{'\xfe', '\x0c', 0x01, 0x00});  // -500, 256
    CHECK(data::read_idx(dir / "i16") == xt::xarray<float>{-500, 256});
    write(dir / "i32", header(0x0C, {1, 1}) + u32(0xFFFE7960));  // -100000
    const xt::xarray<float> i32 = data::read_idx(dir / "i32");
    CHECK(i32.shape() == xg::Shape{1, 1});
    CHECK(i32(0, 0) == -100000.0f);
    write(dir / "f32", header(0x0D, {1}) + u32(0x3FC00000));  // 1.5
    CHECK(data::read_idx(dir / "f32") == xt::xarray<float>{1.5f});
    write(dir / "f64", header(0x0E, {1}) + u32(0xC0090000) + u32(0));  // -3.125
    CHECK(data::read_idx(dir / "f64") == xt::xarray<float>{-3.125f});
}

TEST_CASE("read_idx names the file and the byte for every bad file") {
    TempDir dir;
    const std::string path = dir / "bad.idx";
    const std::string prefix = "read_idx: '" + path + "': ";
    CHECK(message_of([&] { data::read_idx(dir / "missing"); }) ==
          "read_idx: cannot open '" + (dir / "missing") + "': No such file or directory");
    CHECK(idx_error(dir, "") == prefix + "truncated at byte 0: an IDX file starts with a 4-byte magic number");
    CHECK(idx_error(dir, Bytes{0, 0, 8}) ==
          prefix + "truncated at byte 3: an IDX file starts with a 4-byte magic number");
    CHECK(idx_error(dir, "\x89PNG\r\n") == prefix + "bad magic number 0x89504e47: not an IDX file (its first two "
                                                    "bytes must be zero)");
    CHECK(idx_error(dir, header(0x0A, {1}) + "x") ==
          prefix + "bad magic number 0x00000a01: unknown element type 0x0a at byte 2");
    CHECK(idx_error(dir, header(0x08, {})) == prefix + "bad magic number 0x00000800: zero dimensions at byte 3");
    CHECK(idx_error(dir, header(0x08, {3, 2, 2}).substr(0, 10)) ==
          prefix + "truncated at byte 10: the header declares 3 dimensions, which need 16 bytes");
    CHECK(idx_error(dir, images.substr(0, 20)) ==
          prefix + "truncated at byte 20: shape (3, 2, 2) of unsigned byte needs 28 bytes");
    CHECK(idx_error(dir, header(0x0B, {3}) + Bytes(5, 1)) ==
          prefix + "truncated at byte 13: shape (3,) of int16 needs 14 bytes");
    CHECK(idx_error(dir, images + "ab") ==
          prefix + "2 unexpected bytes after the data, which ends at byte 28: shape (3, 2, 2) of unsigned byte");
    CHECK(idx_error(dir, header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF})) ==
          prefix + "the dimensions in the header overflow: (4294967295, 4294967295, 4294967295)");

    // gzip: offsets count decompressed bytes; a damaged stream is reported as such.
    write_gzip(path, images.substr(0, 20));
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + "truncated at byte 20 of the decompressed data: shape (3, 2, 2) of unsigned byte needs 28 bytes");
    write_gzip(dir / "good.gz", images);
    const Bytes gz = read(dir / "good.gz");
    write(path, gz.substr(0, gz.size() - 6));
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + "corrupt gzip data after 28 decompressed bytes: unexpected end of file");
    Bytes flipped = gz;
    flipped[gz.size() - 5] = static_cast<char>(flipped[gz.size() - 5] ^ 0x40);  // inside the stored CRC-32
    write(path, flipped);
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + "corrupt gzip data after 0 decompressed bytes: incorrect data check");
}

TEST_CASE("read_idx checks the header against what the file can hold before allocating, and streams gzip") {
    TempDir dir;
    const std::string path = dir / "bad.idx";
    const std::string prefix = "read_idx: '" + path + "': ";
    CHECK(message_of([&] { data::read_idx(dir.path.string()); }) ==
          "read_idx: '" + dir.path.string() + "': not a regular file");
    // A zero extent beside huge ones holds no element, but xtensor's strides would overflow.
    CHECK(idx_error(dir, header(0x08, {0, 0xFFFFFFFF, 0xFFFFFFFF})) ==
          prefix + "the dimensions in the header overflow: (0, 4294967295, 4294967295)");
    // MNIST's header on a gzip file of a few dozen bytes: no 47 MB allocation, whatever the header says.
    write_gzip(path, header(0x08, {60000, 28, 28}) + Bytes(10, 0));
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + fmt::format("shape (60000, 28, 28) of unsigned byte needs 47040016 bytes, more than {} compressed "
                               "bytes can hold",
                               std::filesystem::file_size(path)));
    // 64 MB of zeros after a 28-byte file: not inflated further than needed to say so.
    write_gzip(path, images + Bytes(64 << 20, 0));
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + "65536 or more unexpected bytes after the data, which ends at byte 28 of the decompressed data: "
                   "shape (3, 2, 2) of unsigned byte");
    write_gzip(path, images + "ab");
    CHECK(message_of([&] { data::read_idx(path); }) ==
          prefix + "2 unexpected bytes after the data, which ends at byte 28 of the decompressed data: shape (3, 2, 2) "
                   "of unsigned byte");
}

TEST_CASE("load_idx pairs images with labels and rejects mismatches") {
    TempDir dir;
    write(dir / "images", images);
    write(dir / "labels", labels);
    const data::Dataset d = data::load_idx(dir / "images", dir / "labels");
    CHECK(d.size() == 3);
    CHECK(d.labels == std::vector<std::size_t>{2, 0, 1});
    CHECK(d.num_classes == 3);
    CHECK(d.inputs(0, 1, 0) == 2.0f);

    write(dir / "short", header(0x08, {2}) + Bytes{2, 0});
    CHECK(message_of([&] { data::load_idx(dir / "images", dir / "short"); }) ==
          "load_idx: '" + (dir / "images") + "' has 3 images but '" + (dir / "short") + "' has 2 labels");
    CHECK(message_of([&] { data::load_idx(dir / "images", dir / "images"); }) ==
          "load_idx: '" + (dir / "images") +
              "' holds unsigned byte of shape (3, 2, 2): labels must be a 1-D integer array");
    write(dir / "float_labels", header(0x0D, {3}) + u32(0) + u32(0) + u32(0));
    CHECK(message_of([&] { data::load_idx(dir / "images", dir / "float_labels"); }) ==
          "load_idx: '" + (dir / "float_labels") + "' holds float32 of shape (3,): labels must be a 1-D integer array");
    write(dir / "negative", header(0x09, {3}) + Bytes{1, '\xfd', 0});
    CHECK(message_of([&] { data::load_idx(dir / "images", dir / "negative"); }) ==
          "load_idx: '" + (dir / "negative") + "': label 1 is -3; labels must not be negative");
    write(dir / "flat", header(0x08, {3}) + Bytes{1, 2, 3});
    CHECK(message_of([&] { data::load_idx(dir / "flat", dir / "labels"); }) ==
          "load_idx: '" + (dir / "flat") + "' has shape (3,): images need at least 2 dimensions (N, ...)");
}

TEST_CASE("load_mnist finds plain or gzip files, scales and flattens") {
    TempDir dir;
    CHECK(message_of([&] { data::load_mnist(dir / "nowhere"); }) ==
          "load_mnist: no directory '" + (dir / "nowhere") + "'");
    CHECK(message_of([&] { data::load_mnist(dir.path.string()); }) ==
          "load_mnist: '" + dir.path.string() + "' has no train-images-idx3-ubyte (nor train-images-idx3-ubyte.gz)");
    write(dir / "train-images-idx3-ubyte", images);
    write_gzip(dir / "train-labels-idx1-ubyte.gz", labels);
    write_gzip(dir / "t10k-images-idx3-ubyte.gz", images);
    write(dir / "t10k-labels-idx1-ubyte", labels);
    const data::Split mnist = data::load_mnist(dir.path.string());
    CHECK(mnist.train.inputs.shape() == xg::Shape{3, 4});
    CHECK(mnist.train.inputs(2, 3) == doctest::Approx(11.0 / 255.0));
    CHECK(mnist.test.labels == std::vector<std::size_t>{2, 0, 1});
    CHECK(mnist.train.num_classes == 10);
    const data::Split raw = data::load_mnist(dir.path.string(), false, false);
    CHECK(raw.test.inputs.shape() == xg::Shape{3, 2, 2});
    CHECK(raw.test.inputs(2, 1, 1) == 11.0f);

    // A label that is no digit is refused where it is read, naming the file and the index.
    write(dir / "t10k-labels-idx1-ubyte", header(0x08, {3}) + Bytes{2, 10, 1});
    CHECK(message_of([&] { data::load_mnist(dir.path.string()); }) ==
          "load_mnist: '" + (dir / "t10k-labels-idx1-ubyte") + "': label 10 at index 1 is not a digit 0-9");
}

TEST_CASE("Debian's Fashion-MNIST files load as 60,000 + 10,000 gzip-compressed images") {
    const data::Split fashion = data::load_mnist("/usr/share/datasets/fashion-mnist");
    CHECK(fashion.train.inputs.shape() == xg::Shape{60000, 784});
    CHECK(fashion.test.inputs.shape() == xg::Shape{10000, 784});
    CHECK(xt::amin(fashion.train.inputs)() == 0.0f);
    CHECK(xt::amax(fashion.train.inputs)() == 1.0f);
    // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    std::vector<std::size_t> per_class(10, 0);
    for (std::size_t label : fashion.test.labels) ++per_class.at(label);
    CHECK(per_class == std::vector<std::size_t>(10, 1000));
}

TEST_CASE("synthetic sets follow their definitions and are reproducible by seed") {
    xg::Generator g(7);
    const data::Dataset table = data::make_xor(4, g);
    CHECK(table.inputs == xt::xarray<float>{{0, 0}, {0, 1}, {1, 0}, {1, 1}});
    CHECK(table.labels == std::vector<std::size_t>{0, 1, 1, 0});

    const data::Dataset moons = data::make_moons(200, g, 0.0);
    CHECK(moons.num_classes == 2);
    for (std::size_t i = 0; i < moons.size(); ++i) {
        // Noise-free points lie on the unit circle around (0, 0) or (1, 0.5).
        const double cx = moons.labels[i] == 0 ? 0.0 : 1.0, cy = moons.labels[i] == 0 ? 0.0 : 0.5;
        CHECK(std::hypot(moons.inputs(i, 0) - cx, moons.inputs(i, 1) - cy) == doctest::Approx(1.0).epsilon(1e-5));
        CHECK((moons.labels[i] == 0 ? moons.inputs(i, 1) >= 0 : moons.inputs(i, 1) <= 0.5f));
    }

    const data::Dataset spirals = data::make_spirals(50, 3, g, 0.0);
    CHECK(spirals.size() == 150);
    CHECK(spirals.labels[149] == 2);
    CHECK(std::hypot(spirals.inputs(149, 0), spirals.inputs(149, 1)) == doctest::Approx(1.0).epsilon(1e-5));

    const data::Dataset blobs = data::make_blobs(300, 3, 4, g, 0.5);
    CHECK(blobs.inputs.shape() == xg::Shape{300, 4});
    // Points of a class stay within a few spreads of each other.
    for (std::size_t f = 0; f < 4; ++f) CHECK(std::abs(blobs.inputs(0, f) - blobs.inputs(3, f)) < 4.0f);

    const data::Dataset sine = data::make_sine(20, g, 0.0);
    CHECK(!sine.is_classification());
    CHECK(sine.targets(5, 0) == doctest::Approx(std::sin(2 * M_PI * sine.inputs(5, 0))).epsilon(1e-5));
    const data::Dataset grid = data::make_sine(11, g, 0.0, true);
    for (std::size_t i = 0; i < 11; ++i) CHECK(grid.inputs(i, 0) == doctest::Approx(i / 10.0).epsilon(1e-7));
    CHECK(grid.targets(3, 0) == doctest::Approx(std::sin(2 * M_PI * 0.3)).epsilon(1e-6));

    // Given centers: class i mod 2, points around their own center; 4000 draws put the means within 0.05.
    const data::Dataset two = data::make_blobs(4000, {{0.0, 0.0}, {2.0, 2.0}}, g, 1.0);
    CHECK(two.num_classes == 2);
    CHECK(two.labels[0] == 0);
    CHECK(two.labels[3] == 1);
    double sums[2][2] = {};
    for (std::size_t i = 0; i < two.size(); ++i)
        for (std::size_t f = 0; f < 2; ++f) sums[two.labels[i]][f] += two.inputs(i, f) / 2000.0;
    CHECK(std::abs(sums[0][0]) < 0.05);
    CHECK(std::abs(sums[1][1] - 2.0) < 0.05);
    CHECK_THROWS_WITH_AS(data::make_blobs(10, {{0.0, 0.0}, {1.0}}, g),
                         "make_blobs: center 1 has 1 coordinates, center 0 has 2", xg::DataError);
    // A NaN or infinite spread would only make a set of NaN; sizes are checked like any user's shape.
    CHECK_THROWS_WITH_AS(data::make_moons(10, g, std::nan("")),
                         "make_moons: noise must be a non-negative number, got nan", xg::DataError);
    CHECK_THROWS_WITH_AS(data::make_sine(10, g, -0.1), "make_sine: noise must be a non-negative number, got -0.1",
                         xg::DataError);
    CHECK_THROWS_WITH_AS(data::make_blobs(10, 2, 2, g, HUGE_VAL),
                         "make_blobs: std must be a non-negative number, got inf", xg::DataError);
    CHECK_THROWS_WITH_AS(data::make_blobs(10, {{0.0, std::nan("")}}, g),
                         "make_blobs: a center coordinate is nan", xg::DataError);
    CHECK_THROWS_WITH_AS(data::make_xor(std::size_t{1} << 62, g),
                         "make_xor: 4611686018427387904 rows of 2 features is too large: its extents multiply past 2^63 "
                         "bytes",
                         xg::DataError);
    CHECK_THROWS_WITH_AS(data::one_hot({1, 2}, std::size_t{1} << 62),
                         "one_hot: 2 rows of 4611686018427387904 features is too large: its extents multiply past "
                         "2^63 bytes",
                         xg::DataError);
    CHECK_THROWS_WITH_AS(data::make_spirals(std::size_t{1} << 62, 8, g),
                         "make_spirals: 8 classes of 4611686018427387904 points is too large", xg::DataError);

    xg::Generator a(3), b(3), c(4);
    CHECK(data::make_moons(50, a).inputs == data::make_moons(50, b).inputs);
    CHECK(data::make_moons(50, a).inputs != data::make_moons(50, c).inputs);
}

TEST_CASE("random_split holds out 20% with no row in both parts, the same for the same seed") {
    const data::Dataset d = numbered(1000);
    xg::Generator g1(11), g2(11), g3(12);
    const data::Split split = data::random_split(d, 0.2, g1);
    CHECK(split.train.size() == 800);
    CHECK(split.test.size() == 200);
    std::vector<std::size_t> train = rows_of(split.train), test = rows_of(split.test);
    std::set<std::size_t> all(train.begin(), train.end());
    all.insert(test.begin(), test.end());
    CHECK(all.size() == 1000);  // disjoint and complete
    for (std::size_t i = 0; i < split.test.size(); ++i) CHECK(split.test.labels[i] == test[i] % 3);
    CHECK(rows_of(data::random_split(d, 0.2, g2).test) == test);
    CHECK(rows_of(data::random_split(d, 0.2, g3).test) != test);
    CHECK(message_of([&] { data::random_split(d, 1.0, g1); }) ==
          "random_split: test_fraction must be in [0, 1), got 1");
    std::vector<std::size_t> shuffled = rows_of(data::shuffle(d, g1));
    CHECK(std::set<std::size_t>(shuffled.begin(), shuffled.end()).size() == 1000);
    CHECK(shuffled != rows_of(d));
}

TEST_CASE("scalers use training statistics only") {
    data::Dataset train, test;
    train.inputs = xt::xarray<float>{{1, 10, 5}, {3, 20, 5}, {5, 60, 5}};
    test.inputs = xt::xarray<float>{{7, 0, 6}};
    data::StandardScaler standard;
    standard.fit(train);
    CHECK(standard.mean() == xt::xarray<float>{3, 30, 5});
    const data::Dataset z = standard.transform(train);
    CHECK(z.inputs(0, 0) == doctest::Approx(-2.0 / std::sqrt(8.0 / 3.0)));
    CHECK(z.inputs(1, 2) == 0.0f);  // no spread: only centered
    const data::Dataset zt = standard.transform(test);
    CHECK(zt.inputs(0, 0) == doctest::Approx(4.0 / std::sqrt(8.0 / 3.0)));  // train's mean and std, not test's
    CHECK(zt.inputs(0, 2) == 1.0f);

    data::MinMaxScaler range;
    range.fit(train);
    CHECK(range.transform(train).inputs == xt::xarray<float>{{0, 0, 0}, {0.5f, 0.2f, 0}, {1, 1, 0}});
    CHECK(range.transform(test).inputs(0, 0) == 1.5f);

    CHECK(message_of([&] { data::StandardScaler().transform(train); }) == "StandardScaler::transform: transform before fit");
    data::Dataset wide;
    wide.inputs = xt::zeros<float>({2, 4});
    CHECK(message_of([&] { standard.transform(wide); }) ==
          "StandardScaler::transform: fitted on 3 features, given rows of 4");
    CHECK(data::one_hot({2, 0}, 3) == xt::xarray<float>{{0, 0, 1}, {1, 0, 0}});
    CHECK(message_of([&] { data::one_hot({3}, 3); }) == "one_hot: label 3 of row 0 is not below 3 classes");
    data::Dataset cube;
    cube.inputs = xt::zeros<float>({2, 3, 4});
    CHECK(data::flatten(cube).inputs.shape() == xg::Shape{2, 12});
}

TEST_CASE("DataLoader: every row once per epoch, a new order each epoch, reproducible, drop_last") {
    const data::Dataset d = numbered(10);
    data::DataLoader loader(d, {.batch_size = 4, .shuffle = true, .drop_last = false, .seed = 5});
    CHECK(loader.size() == 3);
    std::vector<std::vector<std::size_t>> epochs;
    for (int epoch = 0; epoch < 2; ++epoch) {
        std::vector<std::size_t> seen, sizes;
        for (const data::Batch& batch : loader) {
            sizes.push_back(batch.size());
            const std::vector<std::size_t> rows = rows_of(batch);
            seen.insert(seen.end(), rows.begin(), rows.end());
            for (std::size_t i = 0; i < rows.size(); ++i) CHECK(batch.labels[i] == rows[i] % 3);
        }
        CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
        CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 10);
        epochs.push_back(seen);
    }
    CHECK(epochs[0] != epochs[1]);

    data::DataLoader again(d, {.batch_size = 4, .shuffle = true, .drop_last = false, .seed = 5});
    std::vector<std::size_t> first;
    for (const data::Batch& batch : again)
        for (std::size_t r : rows_of(batch)) first.push_back(r);
    CHECK(first == epochs[0]);

    data::DataLoader in_order(d, {.batch_size = 4, .shuffle = false, .drop_last = true});
    CHECK(in_order.size() == 2);
    std::vector<std::size_t> ordered;
    for (const data::Batch& batch : in_order)
        for (std::size_t r : rows_of(batch)) ordered.push_back(r);
    CHECK(ordered == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(message_of([&] { data::DataLoader(d, {.batch_size = 0}); }) == "DataLoader: batch_size must be positive");
}

// The rows one epoch of `loader` serves, in order.
std::vector<std::size_t> epoch_rows(data::DataLoader& loader) {
    std::vector<std::size_t> rows;
    for (const data::Batch& batch : loader)
        for (std::size_t r : rows_of(batch)) rows.push_back(r);
    return rows;
}

TEST_CASE("DataLoader shards: PyTorch's DistributedSampler shares, the same order on every shard, padding repeats") {
    const data::Dataset d = numbered(10);
    // torch.utils.data.distributed.DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False)
    const std::vector<std::vector<std::size_t>> torch_shares = {{0, 3, 6, 9}, {1, 4, 7, 0}, {2, 5, 8, 1}};
    for (std::size_t shard = 0; shard < 3; ++shard) {
        data::DataLoader share(d, {.batch_size = 3, .shuffle = false, .shards = 3, .shard = shard});
        CHECK(share.rows() == 4);
        CHECK(share.size() == 2);
        CHECK(epoch_rows(share) == torch_shares[shard]);
    }
    // Fewer rows than shards: DistributedSampler(range(2), num_replicas=5) gives [0], [1], [0], [1], [0].
    const data::Dataset two = numbered(2);
    for (std::size_t shard = 0; shard < 5; ++shard) {
        data::DataLoader share(two, {.batch_size = 4, .shuffle = false, .shards = 5, .shard = shard});
        CHECK(epoch_rows(share) == std::vector<std::size_t>{shard % 2});
    }

    // Shuffled: the shares of one seed interleave back into one permutation of the rows, padded with its start, and
    // the next epoch draws a new one.
    std::vector<data::DataLoader> shares;
    for (std::size_t shard = 0; shard < 3; ++shard)
        shares.emplace_back(d, data::DataLoaderOptions{.batch_size = 2, .seed = 7, .shards = 3, .shard = shard});
    std::vector<std::size_t> previous;
    for (int epoch = 0; epoch < 2; ++epoch) {
        std::vector<std::vector<std::size_t>> served;
        for (data::DataLoader& share : shares) served.push_back(epoch_rows(share));
        std::vector<std::size_t> order;
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t shard = 0; shard < 3; ++shard) order.push_back(served[shard][k]);
        CHECK(std::set<std::size_t>(order.begin(), order.begin() + 10).size() == 10);
        CHECK(order[10] == order[0]);
        CHECK(order[11] == order[1]);
        CHECK(order != previous);
        previous = order;
    }
    data::DataLoader whole(d, {.batch_size = 2, .seed = 7});
    CHECK(std::vector<std::size_t>(previous.begin(), previous.begin() + 10) != epoch_rows(whole));  // epoch 1 vs 2
    CHECK(epoch_rows(whole) == std::vector<std::size_t>(previous.begin(), previous.begin() + 10));  // the same draws

    CHECK(message_of([&] { data::DataLoader(d, {.shards = 0}); }) == "DataLoader: shards must be at least 1");
    CHECK(message_of([&] { data::DataLoader(d, {.shards = 2, .shard = 2}); }) ==
          "DataLoader: shard 2 is not below shards 2 (shards count from 0)");
}

TEST_CASE("DataLoader reuses its batch arrays unless someone still holds one") {
    const data::Dataset d = numbered(12);
    data::DataLoader loader(d, {.batch_size = 4, .shuffle = false});
    auto it = loader.begin();
    const float* first = it->inputs.value<float>().data();
    ++it;
    CHECK(it->inputs.value<float>().data() == first);  // nobody kept batch 0: its memory was reused

    const xg::Var kept = it->inputs;  // like a graph that still needs batch 1
    ++it;
    CHECK(it->inputs.value<float>().data() != kept.value<float>().data());
    CHECK(kept.shape() == xg::Shape{4, 1});
    CHECK(rows_of(data::Batch{kept, {}, {}}) == std::vector<std::size_t>{4, 5, 6, 7});  // untouched
    CHECK(rows_of(*it) == std::vector<std::size_t>{8, 9, 10, 11});
}

TEST_CASE("cache_directory: XGRAD_DATA_DIR, then XDG_CACHE_HOME/xgrad, then ~/.cache/xgrad") {
    // Saves and restores the three variables around the test.
    struct Saved {
        std::string name;
        std::optional<std::string> value;
    };
    std::vector<Saved> saved;
    for (const char* name : {"XGRAD_DATA_DIR", "XDG_CACHE_HOME", "HOME"}) {
        const char* v = std::getenv(name);
        saved.push_back({name, v ? std::optional<std::string>(v) : std::nullopt});
    }
    setenv("XGRAD_DATA_DIR", "/data/xgrad", 1);
    setenv("XDG_CACHE_HOME", "/cache", 1);
    setenv("HOME", "/home/user", 1);
    CHECK(data::cache_directory() == "/data/xgrad");
    unsetenv("XGRAD_DATA_DIR");
    CHECK(data::cache_directory() == "/cache/xgrad");
    setenv("XDG_CACHE_HOME", "", 1);
    CHECK(data::cache_directory() == "/home/user/.cache/xgrad");
    unsetenv("HOME");
    CHECK(message_of([] { data::cache_directory(); }) ==
          "cache_directory: none of XGRAD_DATA_DIR, XDG_CACHE_HOME and HOME is set");
    for (const Saved& s : saved) {
        if (s.value)
            setenv(s.name.c_str(), s.value->c_str(), 1);
        else
            unsetenv(s.name.c_str());
    }
}

TEST_CASE("scalers refuse NaN and infinite features instead of passing them on") {
    data::Dataset d = numbered(4);
    d.inputs(2, 0) = std::nanf("");
    CHECK(message_of([&] { data::StandardScaler().fit(d); }) ==
          "StandardScaler::fit: feature 0 has a NaN or infinite value");
    d.inputs(2, 0) = std::numeric_limits<float>::infinity();
    CHECK(message_of([&] { data::MinMaxScaler().fit(d); }) == "MinMaxScaler::fit: feature 0 of row 2 is inf");
}
