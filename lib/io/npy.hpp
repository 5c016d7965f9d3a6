#pragma once
// The .npy array format, what an .npz holds in each entry: written as numpy writes version 1.0, read in versions 1
// to 3, in either order and byte order, of the dtypes load_npz lists. The bytes come through an EntryReader, so that
// the zip around them stays in npz.cpp.
#include <xgrad/var.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace xg {

/// Throws an Error naming the file and entry, then `what`.
using Fail = std::function<void(std::string what)>;

/// One entry read in order, each request filled exactly or failed: no byte is allocated for data the entry does
/// not deliver.
class EntryReader {
public:
    /// Reads up to `count` bytes into `to` and says how many, 0 only at the end of the entry; fails on an error.
    using ReadSome = std::function<std::size_t(void* to, std::size_t count)>;

    EntryReader(ReadSome read_some, std::uint64_t size, const Fail& fail)
        : read_some_(std::move(read_some)), size_(size), fail_(fail) {}

    void read(void* to, std::size_t count);
    std::string read(std::size_t count);
    /// Fails if the entry holds more than its size. Reading past the last byte also makes libzip check the CRC.
    void finish();
    std::uint64_t offset() const { return offset_; }
    std::uint64_t size() const { return size_; }

private:
    ReadSome read_some_;
    std::uint64_t size_;
    std::uint64_t offset_ = 0;
    const Fail& fail_;
};

/// A whole .npy file holding `v`.
std::string npy_bytes(const Var& v);

/// The array the entry holds, which must be all of it; `fail` is told what is wrong.
Var read_npy(EntryReader& entry, const Fail& fail);

}  // namespace xg
