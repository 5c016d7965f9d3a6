// .npz reading and writing with libzip, and checkpoints of models and optimizers on top of it.
#include "support/element_count.hpp"
#include "io/files.hpp"
#include "optim/state_entries.hpp"

#include <xgrad/checkpoint.hpp>

#include <zip.h>

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>

namespace xg {

static_assert(std::endian::native == std::endian::little, ".npy arrays are written in the machine's byte order");

namespace {

// .npy ------------------------------------------------------------------------------------------------------

constexpr char npy_magic[] = "\x93NUMPY";
constexpr std::size_t npy_magic_size = 6;

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

using Fail = std::function<void(std::string)>;

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

// One zip entry read in order, each request filled exactly or failed: no byte is allocated for data the entry
// does not deliver.
class EntryReader {
public:
    EntryReader(zip_file_t* file, std::uint64_t size, const Fail& fail) : file_(file), size_(size), fail_(fail) {}

    void read(void* to, std::size_t count) {
        auto* bytes = static_cast<char*>(to);
        std::size_t got = 0;
        while (got < count) {
            const zip_int64_t n = zip_fread(file_, bytes + got, count - got);
            if (n < 0) fail_(zip_file_strerror(file_));
            if (n == 0) fail_(fmt::format("ends after {} bytes; its header says {}", offset_ + got, size_));
            got += static_cast<std::size_t>(n);
        }
        offset_ += got;
    }
    std::string read(std::size_t count) {
        std::string bytes(count, '\0');
        read(bytes.data(), count);
        return bytes;
    }
    // Reads past the last byte, which makes libzip check the CRC.
    void finish() {
        char past_end;
        const zip_int64_t n = zip_fread(file_, &past_end, 1);
        if (n < 0) fail_(zip_file_strerror(file_));
        if (n > 0) fail_(fmt::format("holds more than the {} bytes its header says", size_));
    }
    std::uint64_t offset() const { return offset_; }
    std::uint64_t size() const { return size_; }

private:
    zip_file_t* file_;
    std::uint64_t size_;
    std::uint64_t offset_ = 0;
    const Fail& fail_;
};

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

// libzip ----------------------------------------------------------------------------------------------------

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

namespace {

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
        EntryReader reader(opened.get(), stat.size, fail);
        out.emplace_back(name, read_npy(reader, fail));
    }
    return out;
}

// Checkpoints -----------------------------------------------------------------------------------------------

namespace {

const std::string optimizer_prefix = "optimizer.";
const std::string schedule_prefix = "schedule.";

Named<Var> model_entries(const nn::Module& model) {
    Named<Var> entries = model.named_parameters();
    for (auto& entry : model.named_buffers()) entries.push_back(std::move(entry));
    return entries;
}

// The model path of each of the optimizer's parameters, groups in order: the names its state_dict uses here.
std::vector<std::string> optimizer_paths(const char* op, const nn::Module& model, const optim::Optimizer& optimizer) {
    const Named<Var> parameters = model.named_parameters();
    std::vector<std::string> paths;
    const auto& groups = optimizer.param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
            const Var& p = groups[g].params[i];
            const auto found = std::find_if(parameters.begin(), parameters.end(),
                                            [&](const auto& named) { return named.second.is_same(p); });
            if (found == parameters.end())
                throw Error(fmt::format("{}: {} parameter {} of group {} (shape {}) is not a parameter of the model",
                                        op, optimizer.name(), i, g, to_string(p.shape())));
            paths.push_back(found->first);
        }
    return paths;
}

void add_prefixed(Named<Var>& to, const std::string& prefix, Named<Var> entries) {
    for (auto& [name, v] : entries) to.emplace_back(prefix + name, std::move(v));
}

// The entries under `prefix`, without it.
Named<Var> under(const Named<Var>& entries, const std::string& prefix) {
    Named<Var> out;
    for (const auto& [name, v] : entries)
        if (name.starts_with(prefix)) out.emplace_back(name.substr(prefix.size()), v);
    return out;
}

// An error of the optimizer's or the schedule's own checks, said of the file.
[[noreturn]] void fail_in(const std::string& path, const Error& error) {
    throw Error(fmt::format("load: '{}': {}", path, error.what()));
}

void load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                     optim::LRScheduler* schedule) {
    const Named<Var> file = load_npz(path);
    const std::string where = fmt::format("load: '{}'", path);

    // The model's entries are checked first and assigned last, once the optimizer and schedule have loaded.
    StateEntries model_file(where, file);
    std::vector<std::pair<Var, Var>> assignments;  // destination, source
    for (const auto& [name, v] : model_entries(model))
        assignments.emplace_back(v, model_file.expect(name, v.shape(), v.dtype()));
    for (const auto& [name, v] : file)
        if (!name.starts_with(optimizer_prefix) && !name.starts_with(schedule_prefix) &&
            !model_file.has_used(name))
            throw Error(fmt::format("{} has an entry '{}' that the model does not have", where, name));

    if (optimizer) {
        const std::vector<std::string> paths = optimizer_paths("load", model, *optimizer);
        const Named<Var> previous = optimizer->state_dict(paths);
        try {
            optimizer->load_state_dict(under(file, optimizer_prefix), paths);
        } catch (const Error& error) {
            fail_in(path, error);
        }
        if (schedule) {
            try {
                schedule->load_state_dict(under(file, schedule_prefix));
            } catch (const Error& error) {
                optimizer->load_state_dict(previous, paths);  // a failed load changes nothing
                fail_in(path, error);
            }
        }
    }
    for (auto& [destination, source] : assignments) destination.copy_from(source);
}

Named<Var> optimizer_entries(const nn::Module& model, const optim::Optimizer& optimizer) {
    Named<Var> entries = model_entries(model);
    add_prefixed(entries, optimizer_prefix, optimizer.state_dict(optimizer_paths("save", model, optimizer)));
    return entries;
}

}  // namespace

void save(const std::string& path, const nn::Module& model) { save_npz(path, model_entries(model)); }

void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer) {
    save_npz(path, optimizer_entries(model, optimizer));
}

void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
          const optim::LRScheduler& schedule) {
    Named<Var> entries = optimizer_entries(model, optimizer);
    add_prefixed(entries, schedule_prefix, schedule.state_dict());
    save_npz(path, entries);
}

void load(const std::string& path, nn::Module& model) { load_checkpoint(path, model, nullptr, nullptr); }

void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer) {
    load_checkpoint(path, model, &optimizer, nullptr);
}

void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& schedule) {
    load_checkpoint(path, model, &optimizer, &schedule);
}

}  // namespace xg
