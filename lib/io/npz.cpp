// .npz files, the zip archives of .npy arrays that numpy.savez writes and numpy.load reads, through libzip.
#include <xgrad/checkpoint.hpp>
#include <xgrad/errors.hpp>

#include "io/files.hpp"
#include "io/npy.hpp"
#include "support/element_count.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
#include <zip.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace xg {

namespace {

std::string zip_code_message(int code) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return message;
}

struct ZipDiscard {
    void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ZipDiscard>;

const std::string npy_suffix = ".npy";

// What a zip entry may hold given the file it is in: outside bytes decide no allocation larger than this.
std::uint64_t entry_size_bound(const zip_stat_t& stat, std::uint64_t file_size, const Fail& fail) {
    constexpr auto needed = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
    if ((stat.valid & needed) != needed) fail("its size or compression method is unknown");
    if (stat.comp_size > file_size)
        fail(fmt::format("claims {} compressed bytes in a file of {}", stat.comp_size, file_size));
    if (stat.comp_method == ZIP_CM_STORE) return stat.comp_size;
    if (stat.comp_method == ZIP_CM_DEFLATE) return stat.comp_size * deflate_expansion;
    fail(fmt::format("compression method {} is not supported (numpy stores or deflates its entries)",
                     stat.comp_method));
    return 0;
}

}  // namespace

void save_npz(const std::string& path, const Named<Var>& arrays) {
    const auto fail = [&](const std::string& what) { throw Error(fmt::format("save_npz: '{}': {}", path, what)); };
    std::set<std::string> names;
    std::vector<std::string> contents;
    for (const auto& [name, v] : arrays) {
        if (name.empty()) fail("an array has an empty name");
        if (!names.insert(name).second) fail(fmt::format("two arrays are named '{}'", name));
        if (!v.defined()) fail(fmt::format("array '{}' is undefined", name));
        contents.push_back(npy_bytes(v));
    }

    // The archive is built in memory, so that write_file saves it whole or not at all (libzip writing a file
    // itself would leave its own temporary file behind when killed).
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
    if (!buffer) fail(fmt::format("cannot create an archive: {}", zip_error_strerror(&error)));
    zip_source_keep(buffer);  // kept past zip_close, which writes into it
    const std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> owned(buffer, zip_source_free);
    Archive archive(zip_open_from_source(buffer, ZIP_TRUNCATE, &error));
    if (!archive) fail(fmt::format("cannot create an archive: {}", zip_error_strerror(&error)));
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        zip_source_t* source = zip_source_buffer(archive.get(), contents[i].data(), contents[i].size(), 0);
        if (!source) fail(zip_strerror(archive.get()));
        const zip_int64_t index =
            zip_file_add(archive.get(), (arrays[i].first + npy_suffix).c_str(), source, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(source);
            fail(fmt::format("cannot add '{}': {}", arrays[i].first, zip_strerror(archive.get())));
        }
        // numpy.savez stores its arrays uncompressed; so do we.
        zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    }
    if (zip_close(archive.get()) < 0) fail(fmt::format("cannot build the archive: {}", zip_strerror(archive.get())));
    archive.release();  // zip_close freed it
    contents.clear();

    zip_stat_t stat;
    std::string bytes;
    if (zip_source_stat(buffer, &stat) == 0 && zip_source_open(buffer) == 0) {
        bytes.resize(stat.size);
        const zip_int64_t read = zip_source_read(buffer, bytes.data(), stat.size);
        zip_source_close(buffer);
        if (read != static_cast<zip_int64_t>(stat.size)) bytes.clear();
    }
    if (bytes.empty())
        fail(fmt::format("cannot read the archive back: {}", zip_error_strerror(zip_source_error(buffer))));
    write_file("save_npz", path, bytes);
}

Named<Var> load_npz(const std::string& path) {
    struct stat file;
    if (::stat(path.c_str(), &file) != 0)
        throw Error(fmt::format("load_npz: cannot read '{}': {}", path, std::strerror(errno)));
    if (!S_ISREG(file.st_mode)) throw Error(fmt::format("load_npz: '{}' is not a regular file", path));
    int code = 0;
    Archive archive(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!archive) {
        // libzip reports two entries of one name as "File already exists".
        const std::string reason = code == ZIP_ER_EXISTS ? "two entries have the same name" : zip_code_message(code);
        throw Error(fmt::format("load_npz: cannot read '{}': {}", path, reason));
    }
    Named<Var> out;
    std::set<std::string> names;
    const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
    for (zip_int64_t i = 0; i < entries; ++i) {
        zip_stat_t stat;
        if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0)
            throw Error(fmt::format("load_npz: '{}' entry {}: {}", path, i, zip_strerror(archive.get())));
        const std::string entry = stat.name;
        const Fail fail = [&](const std::string& what) {
            throw Error(fmt::format("load_npz: '{}' entry '{}': {}", path, entry, what));
        };
        if (!entry.ends_with(npy_suffix) || entry.size() == npy_suffix.size()) fail("not a .npy entry");
        const std::string name = entry.substr(0, entry.size() - npy_suffix.size());
        if (!names.insert(name).second) fail("appears twice");
        if (stat.size > entry_size_bound(stat, static_cast<std::uint64_t>(file.st_size), fail))
            fail(fmt::format("claims {} bytes, more than its {} compressed bytes can hold", stat.size, stat.comp_size));
        const std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> opened(
            zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0), zip_fclose);
        if (!opened) fail(zip_strerror(archive.get()));
        const auto read_some = [&](void* to, std::size_t count) {
            const zip_int64_t n = zip_fread(opened.get(), to, count);
            if (n < 0) fail(zip_file_strerror(opened.get()));
            return static_cast<std::size_t>(n);
        };
        EntryReader reader(read_some, stat.size, fail);
        out.emplace_back(name, read_npy(reader, fail));
    }
    return out;
}

}  // namespace xg
