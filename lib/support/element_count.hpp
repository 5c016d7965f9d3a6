#pragma once
// Bounds checked before anything is allocated for a user's or a file's say-so: how many elements a shape holds,
// and how much a compressed file can hold.
#include <xgrad/errors.hpp>
#include <xgrad/var.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace xg {

/// The element count of `shape`, or nothing when no array of that shape can exist: when its bytes (`item_bytes`
/// each), or any stride xtensor derives from it, would pass PTRDIFF_MAX. A zero extent makes the count 0 but not
/// the strides, so (0, 2^32, 2^32) cannot exist either.
inline std::optional<std::size_t> element_count(const Shape& shape, std::size_t item_bytes) {
    std::size_t bytes = item_bytes;
    bool empty = false;
    for (const std::size_t extent : shape) {
        if (extent == 0) {
            empty = true;
            continue;
        }
        if (__builtin_mul_overflow(bytes, extent, &bytes) || bytes > static_cast<std::size_t>(PTRDIFF_MAX))
            return std::nullopt;
    }
    return empty ? 0 : bytes / item_bytes;
}

/// A deflated byte expands to at most 1032 bytes (RFC 1951: one 258-byte match per two bits at best): the most
/// a gzip file or a deflated zip entry can decompress to, per compressed byte.
constexpr std::uint64_t deflate_expansion = 1032;

inline std::size_t item_bytes(Dtype dtype) { return dtype == Dtype::float32 ? 4 : 8; }

/// element_count of a shape a user asked for; a ShapeError naming `op` and the shape when it cannot exist.
inline std::size_t checked_element_count(const char* op, const Shape& shape, Dtype dtype) {
    const std::optional<std::size_t> count = element_count(shape, item_bytes(dtype));
    if (!count)
        throw ShapeError(fmt::format("{}: shape {} of {} is too large: its extents multiply past 2^63 bytes", op,
                                     to_string(shape), dtype_name(dtype)));
    return *count;
}

}  // namespace xg
