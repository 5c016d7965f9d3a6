#pragma once
// What the fuzz targets share: the readers take paths, so each input becomes a file in a per-process scratch
// directory (on /dev/shm when there is one, to keep the disk out of the loop), and the only exception a reader
// may throw at outside bytes is xg::Error; anything else escapes to libFuzzer (or replay) as a finding.
#include <xgrad/errors.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fuzz {

class ScratchDirectory {
public:
    ScratchDirectory() {
        const std::filesystem::path shm = "/dev/shm";
        const std::filesystem::path base = std::filesystem::is_directory(shm) ? shm
                                                                              : std::filesystem::temp_directory_path();
        std::string pattern = (base / "xgrad_fuzz_XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a scratch directory in " + base.string());
        path_ = pattern;
    }
    ~ScratchDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;

    std::string operator/(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// One per process: libFuzzer calls the target millions of times, and a directory per call would dominate.
inline const ScratchDirectory& scratch() {
    static const ScratchDirectory directory;
    return directory;
}

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

inline void write_file(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// Runs a reader on outside bytes: a rejection (xg::Error) is the expected outcome for most inputs.
template <class Reader>
bool accepts(Reader&& reader) {
    try {
        reader();
        return true;
    } catch (const xg::Error&) {
        return false;
    }
}

// A gzip stream of `content` (what gzip(1) writes), so the IDX reader is fuzzed behind its decompression.
inline std::string gzip(std::string_view content) {
    z_stream stream{};
    // 15 + 16: a zlib window of 2^15 with a gzip wrapper instead of zlib's.
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&stream, static_cast<uLong>(content.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
    stream.avail_in = static_cast<uInt>(content.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
    return out;
}

namespace detail {

inline void little_endian(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace detail

// A zip archive holding `content` as the one stored (uncompressed) entry `name`: the layout numpy.savez writes,
// built by hand so the fuzzer's bytes reach the .npy parser without libzip re-encoding them.
inline std::string stored_zip(const std::string& name, std::string_view content) {
    using detail::little_endian;
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size())));
    const auto common = [&](std::string& out) {
        little_endian(out, 20, 2);  // version needed to extract: 2.0
        little_endian(out, 0, 2);   // flags
        little_endian(out, 0, 2);   // method: stored
        little_endian(out, 0, 2);   // time
        little_endian(out, 0x21, 2);  // date: 1980-01-01
        little_endian(out, crc, 4);
        little_endian(out, content.size(), 4);  // compressed size
        little_endian(out, content.size(), 4);  // uncompressed size
        little_endian(out, name.size(), 2);
        little_endian(out, 0, 2);  // extra field length
    };
    std::string out;
    little_endian(out, 0x04034b50, 4);  // local file header
    common(out);
    out += name;
    out += content;
    const std::size_t directory_offset = out.size();
    little_endian(out, 0x02014b50, 4);  // central directory header
    little_endian(out, 20, 2);          // version made by
    common(out);
    little_endian(out, 0, 2);  // comment length
    little_endian(out, 0, 2);  // disk number
    little_endian(out, 0, 2);  // internal attributes
    little_endian(out, 0, 4);  // external attributes
    little_endian(out, 0, 4);  // offset of the local header
    out += name;
    const std::size_t directory_size = out.size() - directory_offset;
    little_endian(out, 0x06054b50, 4);  // end of central directory
    little_endian(out, 0, 2);
    little_endian(out, 0, 2);
    little_endian(out, 1, 2);
    little_endian(out, 1, 2);
    little_endian(out, directory_size, 4);
    little_endian(out, directory_offset, 4);
    little_endian(out, 0, 2);
    return out;
}

}  // namespace fuzz
