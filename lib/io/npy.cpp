// The .npy array format, one array per .npz entry (npy.hpp says which versions and dtypes).
#include "io/npy.hpp"

#include "support/element_count.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace xg {

static_assert(std::endian::native == std::endian::little, ".npy arrays are written in the machine's byte order");

namespace {

constexpr char npy_magic[] = "\x93NUMPY";
constexpr std::size_t npy_magic_size = 6;

// The value of `key` in a .npy header dictionary, as written: up to the next ',' or '}', or a whole bracketed
// value (a shape tuple, a structured dtype's list of fields) up to the bracket that closes it.
std::string header_field(const std::string& header, const std::string& key, const Fail& fail) {
    const std::size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) fail(fmt::format("header has no '{}'", key));
    std::size_t start = header.find(':', at);
    if (start == std::string::npos) fail(fmt::format("header field '{}' has no value", key));
    ++start;
    while (start < header.size() && header[start] == ' ') ++start;
    std::size_t end = std::string::npos;
    if (start < header.size() && (header[start] == '(' || header[start] == '[')) {
        std::size_t depth = 0;
        for (std::size_t i = start; i < header.size() && end == std::string::npos; ++i) {
            if (header[i] == '(' || header[i] == '[') ++depth;
            if ((header[i] == ')' || header[i] == ']') && --depth == 0) end = i + 1;
        }
    } else {
        end = header.find_first_of(",}", start);
    }
    if (end == std::string::npos || end <= start) fail(fmt::format("header field '{}' is malformed", key));
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

// An element type a file may hold and the dtype it is read as: the narrower of float32 and float64 that holds every
// value of the type exactly (numpy's promote_types(type, float32)), so that reading never rounds; int64 and uint64
// have no such dtype, and their values past what float64 holds exactly are refused as they are read.
struct FileDtype {
    char kind;  // 'b' bool, 'i' signed, 'u' unsigned, 'f' floating
    std::size_t size;
    bool big_endian;
    const char* name;  // numpy's
    Dtype to;
};

// The dtype of a descr as written in the header ("'<i8'"), if it is one that can be read.
std::optional<FileDtype> file_dtype(const std::string& descr) {
    struct Known {
        char kind;
        std::size_t size;
        const char* name;
        Dtype to;
    };
    static constexpr Known known[] = {
        {'b', 1, "bool", Dtype::float32},    {'i', 1, "int8", Dtype::float32},   {'u', 1, "uint8", Dtype::float32},
        {'i', 2, "int16", Dtype::float32},   {'u', 2, "uint16", Dtype::float32}, {'f', 2, "float16", Dtype::float32},
        {'f', 4, "float32", Dtype::float32}, {'i', 4, "int32", Dtype::float64},  {'u', 4, "uint32", Dtype::float64},
        {'f', 8, "float64", Dtype::float64}, {'i', 8, "int64", Dtype::float64},  {'u', 8, "uint64", Dtype::float64},
    };
    // numpy writes the byte order ('|' for one byte, which has none), the kind and the size: '<f4', '>i8', '|u1'.
    if (descr.size() != 5 || descr.front() != '\'' || descr.back() != '\'') return std::nullopt;
    const char order = descr[1];
    const char kind = descr[2];
    const std::size_t size = static_cast<std::size_t>(descr[3] - '0');
    for (const Known& k : known)
        if (k.kind == kind && k.size == size && (order == '<' || order == '>' || (order == '|' && size == 1)))
            return FileDtype{kind, size, order == '>', k.name, k.to};
    return std::nullopt;
}

// Why an array of a descr file_dtype does not know cannot be read, and how to convert it on the numpy side.
std::string unreadable(const std::string& descr) {
    if (descr.starts_with('['))
        return fmt::format("dtype {} is structured, which a Var cannot hold; save each field as its own array: "
                           "np.savez(path, field=array['field'])",
                           descr);
    const char kind = descr.size() > 2 && descr.front() == '\'' ? descr[2] : '\0';
    if (kind == 'c')
        return fmt::format("dtype {} is complex, which a Var cannot hold; save the real and imaginary parts as two "
                           "arrays: np.savez(path, re=array.real, im=array.imag)",
                           descr);
    return fmt::format("dtype {} is not supported (only bool, int8 to int64, uint8 to uint64 and float16 to float64, "
                       "either byte order); convert it with numpy: np.savez(path, name=array.astype(np.{}))",
                       descr, kind == 'f' ? "float64" : "float32");
}

// The shape, order and element count of an array's data, and whether its bytes need swapping.
struct Layout {
    Shape shape;
    bool fortran_order;
    std::size_t count;
    bool swap;
};

// The index of the element at a row-major offset, for messages: (1, 2).
std::string index_at(const Shape& shape, std::size_t offset) {
    Shape index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = offset % shape[d];
        offset /= shape[d];
    }
    return to_string(index);
}

// Where each element of the file goes in the row-major array: element k itself in C order; in Fortran order the
// first axis varies fastest, so an index counter walks the row-major offsets in that order.
class Placement {
public:
    explicit Placement(const Layout& layout)
        : shape_(layout.shape), fortran_(layout.fortran_order), index_(shape_.size()), strides_(shape_.size()) {
        std::size_t stride = 1;
        for (std::size_t d = shape_.size(); d-- > 0;) {
            strides_[d] = stride;
            stride *= shape_[d];
        }
    }

    std::size_t next() {
        if (!fortran_) return offset_++;
        const std::size_t at = offset_;
        for (std::size_t d = 0; d < shape_.size(); ++d) {
            offset_ += strides_[d];
            if (++index_[d] < shape_[d]) break;
            offset_ -= strides_[d] * shape_[d];
            index_[d] = 0;
        }
        return at;
    }

private:
    const Shape& shape_;
    bool fortran_;
    Shape index_;
    Shape strides_;
    std::size_t offset_ = 0;
};

template <class Bits>
Bits from_file(const char* at, bool swap) {
    Bits bits;
    std::memcpy(&bits, at, sizeof bits);
    if constexpr (sizeof bits == 2) return swap ? __builtin_bswap16(bits) : bits;
    else if constexpr (sizeof bits == 4) return swap ? __builtin_bswap32(bits) : bits;
    else if constexpr (sizeof bits == 8) return swap ? __builtin_bswap64(bits) : bits;
    else return bits;
}

// Every float16 is a float32: the exponent is rebiased (15 to 127), the significand widened, subnormals scaled
// exactly, and infinities and NaNs keep their sign and payload.
float half_to_float(std::uint16_t half) {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    const std::uint32_t exponent = (half >> 10) & 0x1fu;
    const std::uint32_t significand = half & 0x3ffu;
    if (exponent == 0) {
        const float magnitude = std::ldexp(static_cast<float>(significand), -24);
        return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
    }
    if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | significand << 13);
    return std::bit_cast<float>(sign | (exponent + 127 - 15) << 23 | significand << 13);
}

// The array whose elements, `Bits` each in the file, `decode` turns into `To`s (given the row-major offset each goes
// to), a chunk at a time: a converted array costs no second copy of itself.
template <class To, class Bits, class Decode>
Var read_converted(EntryReader& entry, const Layout& layout, Decode decode) {
    auto a = xt::xarray<To>::from_shape(layout.shape);
    constexpr std::size_t chunk = 65536 / sizeof(Bits);
    std::vector<char> buffer(std::min(layout.count, chunk) * sizeof(Bits));
    Placement place(layout);
    for (std::size_t done = 0; done < layout.count;) {
        const std::size_t n = std::min(layout.count - done, chunk);
        entry.read(buffer.data(), n * sizeof(Bits));
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t at = place.next();
            a.data()[at] = decode(from_file<Bits>(buffer.data() + i * sizeof(Bits), layout.swap), at);
        }
        done += n;
    }
    return Var(std::move(a));
}

template <class T>
Var read_direct(EntryReader& entry, const Layout& layout) {
    auto a = xt::xarray<T>::from_shape(layout.shape);
    if (layout.count > 0) entry.read(a.data(), layout.count * sizeof(T));  // an empty array's data() may be null
    return Var(std::move(a));
}

template <class Float, class Bits>
Var read_float(EntryReader& entry, const Layout& layout) {
    if (!layout.fortran_order && !layout.swap) return read_direct<Float>(entry, layout);
    return read_converted<Float, Bits>(entry, layout,
                                       [](Bits bits, std::size_t) { return std::bit_cast<Float>(bits); });
}

// int64 and uint64 values are read when float64 holds them exactly (every one up to 2^53, fewer past it); a value
// it would round is refused rather than changed without a word.
template <class Int>
Var read_int64(EntryReader& entry, const Layout& layout, const FileDtype& type, const Fail& fail) {
    return read_converted<double, std::uint64_t>(entry, layout, [&](std::uint64_t bits, std::size_t at) {
        const Int value = std::bit_cast<Int>(bits);
        const double converted = static_cast<double>(value);
        // 2^63 (2^64) is the first double past the type, where converting back would be undefined.
        const double past = std::is_signed_v<Int> ? 0x1p63 : 0x1p64;
        if (converted >= past || static_cast<Int>(converted) != value)
            fail(fmt::format("{} element {} is {}, which float64 cannot hold exactly (it holds every integer up to "
                             "2^53); to read it rounded, convert it with numpy: "
                             "np.savez(path, name=array.astype(np.float64))",
                             type.name, index_at(layout.shape, at), value));
        return converted;
    });
}

Var read_values(EntryReader& entry, const FileDtype& type, const Layout& layout, const Fail& fail) {
    const auto as = [](auto value, std::size_t) { return static_cast<float>(value); };
    switch (type.size) {
        case 1:
            if (type.kind == 'b')
                return read_converted<float, std::uint8_t>(entry, layout, [&](std::uint8_t byte, std::size_t at) {
                    if (byte > 1)
                        fail(fmt::format("bool element {} is byte {}, neither 0 nor 1", index_at(layout.shape, at),
                                         byte));
                    return static_cast<float>(byte);
                });
            if (type.kind == 'i')
                return read_converted<float, std::uint8_t>(entry, layout, [](std::uint8_t bits, std::size_t) {
                    return static_cast<float>(std::bit_cast<std::int8_t>(bits));
                });
            return read_converted<float, std::uint8_t>(entry, layout, as);
        case 2:
            if (type.kind == 'f')
                return read_converted<float, std::uint16_t>(
                    entry, layout, [](std::uint16_t bits, std::size_t) { return half_to_float(bits); });
            if (type.kind == 'i')
                return read_converted<float, std::uint16_t>(entry, layout, [](std::uint16_t bits, std::size_t) {
                    return static_cast<float>(std::bit_cast<std::int16_t>(bits));
                });
            return read_converted<float, std::uint16_t>(entry, layout, as);
        case 4:
            if (type.kind == 'f') return read_float<float, std::uint32_t>(entry, layout);
            if (type.kind == 'i')
                return read_converted<double, std::uint32_t>(entry, layout, [](std::uint32_t bits, std::size_t) {
                    return static_cast<double>(std::bit_cast<std::int32_t>(bits));
                });
            return read_converted<double, std::uint32_t>(
                entry, layout, [](std::uint32_t bits, std::size_t) { return static_cast<double>(bits); });
        default:
            if (type.kind == 'f') return read_float<double, std::uint64_t>(entry, layout);
            if (type.kind == 'i') return read_int64<std::int64_t>(entry, layout, type, fail);
            return read_int64<std::uint64_t>(entry, layout, type, fail);
    }
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
    const std::optional<FileDtype> found = file_dtype(descr);
    if (!found) fail(unreadable(descr));
    const FileDtype& type = *found;
    const std::string order = header_field(header, "fortran_order", fail);
    if (order != "True" && order != "False")
        fail(fmt::format("header field 'fortran_order' is {}, neither True nor False", order));

    const Shape shape = parse_shape(header_field(header, "shape", fail), fail);
    // No file type is wider than the dtype it is read as, so bounding the array bounds its data too.
    const std::optional<std::size_t> elements = element_count(shape, item_bytes(type.to));
    if (!elements) fail(fmt::format("shape {} is too large: its extents multiply past 2^63 bytes", to_string(shape)));
    const std::uint64_t data_bytes = *elements * type.size;
    if (entry.size() - entry.offset() != data_bytes)
        fail(fmt::format("{} {} needs {} data bytes from offset {}, the entry has {}", type.name, to_string(shape),
                         data_bytes, entry.offset(), entry.size() - entry.offset()));
    Var value = read_values(entry, type, {shape, order == "True", *elements, type.big_endian}, fail);
    entry.finish();
    return value;
}

}  // namespace xg
