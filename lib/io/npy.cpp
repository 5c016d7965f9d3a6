// The .npy array format, one array per .npz entry (npy.hpp says which versions and dtypes).
#include "io/npy.hpp"

#include "support/element_count.hpp"

#include <fmt/core.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <utility>

namespace xg {

static_assert(std::endian::native == std::endian::little, ".npy arrays are written in the machine's byte order");

namespace {

constexpr char npy_magic[] = "\x93NUMPY";
constexpr std::size_t npy_magic_size = 6;

// The value of `key` in a .npy header dictionary, as written (up to the next ',' or the closing ')').
std::string header_field(const std::string& header, const std::string& key, const Fail& fail) {
    const std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) fail(fmt::format("header has no '{}'", key));
    std::size_t start = header.find(':', at);
    if (start == std::string::npos) fail(fmt::format("header field '{}' has no value", key));
    ++start;
    while (start < header.size() && header[start] == ' ') ++start;
    const std::size_t end = header[start] == '(' ? header.find(')', start) + 1 : header.find_first_of(",}", start);
    if (end == std::string::npos || end == 0 || end <= start) fail(fmt::format("header field '{}' is malformed", key));
    return header.substr(start, end - start);
}

// A .npy shape tuple, "()", "(3,)" or "(2, 3)": non-negative decimal extents only.
Shape parse_shape(const std::string& text, const Fail& fail) {
    Shape shape;
    const auto malformed = [&] { fail(fmt::format("shape {} is malformed", text)); };
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') malformed();
    std::size_t i = 1;
    while (i + 1 < text.size()) {
        while (i + 1 < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
        if (i + 1 >= text.size()) break;
        const std::size_t digits = text.find_first_not_of("0123456789", i);
        if (digits == i) malformed();
        const std::string extent = text.substr(i, digits - i);
        errno = 0;
        const unsigned long long n = std::strtoull(extent.c_str(), nullptr, 10);
        if (errno == ERANGE) fail(fmt::format("shape {} has an extent past 2^64", text));
        shape.push_back(static_cast<std::size_t>(n));
        i = digits;
    }
    return shape;
}

}  // namespace

void EntryReader::read(void* to, std::size_t count) {
    auto* bytes = static_cast<char*>(to);
    std::size_t got = 0;
    while (got < count) {
        const std::size_t n = read_some_(bytes + got, count - got);
        if (n == 0) fail_(fmt::format("ends after {} bytes; its header says {}", offset_ + got, size_));
        got += n;
    }
    offset_ += got;
}

std::string EntryReader::read(std::size_t count) {
    std::string bytes(count, '\0');
    read(bytes.data(), count);
    return bytes;
}

void EntryReader::finish() {
    char past_end;
    if (read_some_(&past_end, 1) > 0) fail_(fmt::format("holds more than the {} bytes its header says", size_));
}

// Version 1.0 header padded so that the data starts at a multiple of 64 bytes, as numpy writes it. The shape is
// a Python tuple, which is how to_string writes shapes: "()", "(3,)", "(2, 3)".
std::string npy_bytes(const Var& v) {
    std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                     v.dtype() == Dtype::float32 ? "<f4" : "<f8", to_string(v.shape()));
    const std::size_t unpadded = npy_magic_size + 4 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string out(npy_magic, npy_magic_size);
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    v.visit_value([&](const auto& a) {
        if (a.size() > 0) out.append(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(*a.data()));
    });
    return out;
}

Var read_npy(EntryReader& entry, const Fail& fail) {
    if (entry.size() < 10) fail(fmt::format("not a .npy array ({} bytes, less than its preamble)", entry.size()));
    const std::string preamble = entry.read(10);
    if (preamble.compare(0, npy_magic_size, npy_magic, npy_magic_size) != 0)
        fail("not a .npy array (no \\x93NUMPY magic at offset 0)");
    const auto byte = [](const std::string& s, std::size_t i) {
        return static_cast<std::size_t>(static_cast<unsigned char>(s[i]));
    };
    const std::size_t major = byte(preamble, 6);
    std::size_t header_size = byte(preamble, 8) | byte(preamble, 9) << 8;
    if (major == 2 || major == 3) {
        const std::string rest = entry.read(2);
        header_size |= byte(rest, 0) << 16 | byte(rest, 1) << 24;
    } else if (major != 1) {
        fail(fmt::format(".npy format version {} is not supported", major));
    }
    if (header_size > entry.size() - entry.offset())
        fail(fmt::format("header runs to byte {} but the entry has {} bytes", entry.offset() + header_size,
                         entry.size()));
    const std::string header = entry.read(header_size);

    const std::string descr = header_field(header, "descr", fail);
    Dtype dtype = Dtype::float32;
    if (descr == "'<f8'")
        dtype = Dtype::float64;
    else if (descr != "'<f4'")
        fail(fmt::format("dtype {} is not supported (only little-endian float32 '<f4' and float64 '<f8')", descr));
    if (header_field(header, "fortran_order", fail) != "False") fail("Fortran-order arrays are not supported");

    const Shape shape = parse_shape(header_field(header, "shape", fail), fail);
    const std::optional<std::size_t> elements = element_count(shape, item_bytes(dtype));
    if (!elements) fail(fmt::format("shape {} is too large: its extents multiply past 2^63 bytes", to_string(shape)));
    const std::uint64_t data_bytes = *elements * item_bytes(dtype);
    if (entry.size() - entry.offset() != data_bytes)
        fail(fmt::format("{} {} needs {} data bytes from offset {}, the entry has {}", dtype_name(dtype),
                         to_string(shape), data_bytes, entry.offset(), entry.size() - entry.offset()));
    const auto read_as = [&](auto zero) {
        auto a = xt::xarray<decltype(zero)>::from_shape(shape);
        if (data_bytes > 0) entry.read(a.data(), data_bytes);  // an empty array's data() may be null
        return Var(std::move(a));
    };
    Var value = dtype == Dtype::float32 ? read_as(0.0f) : read_as(0.0);
    entry.finish();
    return value;
}

}  // namespace xg
