// .npz reading and writing with libzip, and checkpoints of models and optimizers on top of it.
#include "files.hpp"
#include "node.hpp"
#include "optim_access.hpp"

#include <xgrad/checkpoint.hpp>

#include <zip.h>

#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <set>

namespace xg::optim {
struct ScheduleAccess {
    static std::size_t& steps(LRScheduler& s) { return s.t_; }
    static std::vector<double>& base_lrs(LRScheduler& s) { return s.base_lrs_; }
};
}  // namespace xg::optim

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
    visit(tensor_of(v), [&](const auto& a) {
        if (a.size() > 0) out.append(reinterpret_cast<const char*>(a.data()), a.size() * sizeof(*a.data()));
    });
    return out;
}

// The value of `key` in a .npy header dictionary, as written (up to the next ',' or the closing ')').
std::string header_field(const std::string& header, const std::string& key, const std::function<void(std::string)>& fail) {
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

Var parse_npy(const std::string& bytes, const std::function<void(std::string)>& fail) {
    if (bytes.size() < 10 || bytes.compare(0, npy_magic_size, npy_magic, npy_magic_size) != 0)
        fail(fmt::format("not a .npy array (no \\x93NUMPY magic at offset 0, {} bytes)", bytes.size()));
    const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
    const std::size_t major = byte(6);
    std::size_t header_size, header_start;
    if (major == 1) {
        header_size = byte(8) | byte(9) << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) fail(fmt::format("truncated header ({} bytes)", bytes.size()));
        header_size = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
        header_start = 12;
    } else {
        fail(fmt::format(".npy format version {} is not supported", major));
        return Var();
    }
    if (header_start + header_size > bytes.size())
        fail(fmt::format("header runs to byte {} but the entry has {} bytes", header_start + header_size, bytes.size()));
    const std::string header = bytes.substr(header_start, header_size);

    const std::string descr = header_field(header, "descr", fail);
    Dtype dtype;
    if (descr == "'<f4'")
        dtype = Dtype::float32;
    else if (descr == "'<f8'")
        dtype = Dtype::float64;
    else {
        fail(fmt::format("dtype {} is not supported (only little-endian float32 '<f4' and float64 '<f8')", descr));
        return Var();
    }
    if (header_field(header, "fortran_order", fail) != "False") fail("Fortran-order arrays are not supported");

    const std::string shape_text = header_field(header, "shape", fail);
    Shape shape;
    std::size_t elements = 1;
    for (std::size_t i = 1; i + 1 < shape_text.size();) {
        while (i + 1 < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
        if (i + 1 >= shape_text.size()) break;
        char* end = nullptr;
        const unsigned long long n = std::strtoull(shape_text.c_str() + i, &end, 10);
        if (end == shape_text.c_str() + i) fail(fmt::format("shape {} is malformed", shape_text));
        shape.push_back(static_cast<std::size_t>(n));
        elements *= static_cast<std::size_t>(n);
        i = static_cast<std::size_t>(end - shape_text.c_str());
    }
    const std::size_t item = dtype == Dtype::float32 ? 4 : 8;
    const std::size_t data_start = header_start + header_size;
    if (bytes.size() - data_start != elements * item)
        fail(fmt::format("{} {} needs {} data bytes from offset {}, the entry has {}", dtype_name(dtype),
                         to_string(shape), elements * item, data_start, bytes.size() - data_start));
    Tensor value = filled(dtype, shape, 0.0);
    if (elements > 0)  // an empty array's data() may be null
        visit(value, [&](auto& a) { std::memcpy(a.data(), bytes.data() + data_start, elements * item); });
    return constant(std::move(value));
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

    write_atomically("save_npz", path, [&](const std::string& temporary) {
        int code = 0;
        Archive archive(zip_open(temporary.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
        if (!archive) fail(fmt::format("cannot open '{}' for writing: {}", temporary, zip_code_message(code)));
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
        if (zip_close(archive.get()) < 0) fail(fmt::format("cannot write: {}", zip_strerror(archive.get())));
        archive.release();  // zip_close freed it
    });
}

Named<Var> load_npz(const std::string& path) {
    int code = 0;
    Archive archive(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!archive) throw Error(fmt::format("load_npz: cannot read '{}': {}", path, zip_code_message(code)));
    Named<Var> out;
    std::set<std::string> names;
    const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
    for (zip_int64_t i = 0; i < entries; ++i) {
        zip_stat_t stat;
        if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0)
            throw Error(fmt::format("load_npz: '{}' entry {}: {}", path, i, zip_strerror(archive.get())));
        const std::string entry = stat.name;
        const auto fail = [&](const std::string& what) {
            throw Error(fmt::format("load_npz: '{}' entry '{}': {}", path, entry, what));
        };
        if (entry.size() <= npy_suffix.size() || entry.compare(entry.size() - npy_suffix.size(), npy_suffix.size(), npy_suffix) != 0)
            fail("not a .npy entry");
        std::string bytes(stat.size, '\0');
        zip_file_t* file = zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0);
        if (!file) fail(zip_strerror(archive.get()));
        // Read to the end of the entry (one read past its size): libzip checks the CRC when it reaches it.
        zip_uint64_t got = 0;
        zip_int64_t n = 0;
        char past_end;
        while (got < stat.size && (n = zip_fread(file, bytes.data() + got, stat.size - got)) > 0)
            got += static_cast<zip_uint64_t>(n);
        if (n >= 0 && got == stat.size) n = zip_fread(file, &past_end, 1);
        const std::string read_error = n < 0 ? zip_file_strerror(file) : "";
        zip_fclose(file);
        if (n < 0) fail(read_error);
        if (got != stat.size || n != 0) fail(fmt::format("holds other than the {} bytes its header says", stat.size));
        const std::string name = entry.substr(0, entry.size() - npy_suffix.size());
        if (!names.insert(name).second) fail("appears twice");
        out.emplace_back(name, parse_npy(bytes, fail));
    }
    return out;
}

// Checkpoints -----------------------------------------------------------------------------------------------

namespace {

using optim::OptimizerAccess;

const std::string optimizer_prefix = "optimizer.";
const std::string schedule_prefix = "schedule.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

Named<Var> model_entries(const nn::Module& model) {
    Named<Var> entries = model.named_parameters();
    for (auto& entry : model.named_buffers()) entries.push_back(std::move(entry));
    return entries;
}

// Path of each optimizer parameter in the model, by [group][index].
std::vector<std::vector<std::string>> optimizer_paths(const char* op, const nn::Module& model,
                                                      const optim::Optimizer& optimizer) {
    std::map<const Node*, std::string> path_of;
    for (const auto& [name, p] : model.named_parameters()) path_of.emplace(p.node().get(), name);
    std::vector<std::vector<std::string>> paths;
    const auto& groups = optimizer.param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        paths.emplace_back();
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
            const auto found = path_of.find(groups[g].params[i].node().get());
            if (found == path_of.end())
                throw Error(fmt::format("{}: {} parameter {} of group {} (shape {}) is not a parameter of the model",
                                        op, optimizer.name(), i, g, to_string(groups[g].params[i].shape())));
            paths.back().push_back(found->second);
        }
    }
    return paths;
}

void copy_into(const Var& destination, const Var& source) {
    visit(mutable_tensor_of(destination), [&](auto& d) {
        using A = std::decay_t<decltype(d)>;
        const A& s = std::get<A>(tensor_of(source));
        std::copy(s.begin(), s.end(), d.begin());
    });
}

struct FileEntries {
    std::string path;
    std::map<std::string, Var> entries;
    std::set<std::string> used;

    // The entry `name`, which must have the given shape and dtype.
    const Var& expect(const std::string& name, const Shape& shape, Dtype dtype) {
        const auto found = entries.find(name);
        if (found == entries.end())
            throw Error(fmt::format("load: '{}' has no entry '{}' (expected {} {})", path, name, to_string(shape),
                                    dtype_name(dtype)));
        const Var& v = found->second;
        if (v.shape() != shape || v.dtype() != dtype)
            throw Error(fmt::format("load: '{}' entry '{}' is {} {}, expected {} {}", path, name, to_string(v.shape()),
                                    dtype_name(v.dtype()), to_string(shape), dtype_name(dtype)));
        used.insert(name);
        return v;
    }
    bool has(const std::string& name) const { return entries.count(name) != 0; }
};

double scalar(FileEntries& file, const std::string& name) {
    return file.expect(name, Shape{}, Dtype::float64).item();
}

void load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                     optim::LRScheduler* schedule) {
    FileEntries file{path, {}, {}};
    for (auto& [name, v] : load_npz(path)) file.entries.emplace(name, v);

    // Check every entry first; assign only once all of them match.
    std::vector<std::pair<Var, Var>> assignments;  // destination, source
    for (const auto& [name, v] : model_entries(model))
        assignments.emplace_back(v, file.expect(name, v.shape(), v.dtype()));

    struct SlotLoad {
        OptimizerAccess::Slot* slot;
        Var param;
        std::uint64_t steps;
        std::vector<Var> state;  // empty: the optimizer had not stepped this parameter
    };
    std::vector<SlotLoad> slot_loads;
    std::vector<double> lrs;
    if (optimizer) {
        const auto paths = optimizer_paths("load", model, *optimizer);
        auto& slots = OptimizerAccess::slots(*optimizer);
        const auto& groups = optimizer->param_groups();
        for (std::size_t g = 0; g < groups.size(); ++g) {
            lrs.push_back(scalar(file, fmt::format("{}group{}.lr", optimizer_prefix, g)));
            for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
                const Var& p = groups[g].params[i];
                const std::string prefix = optimizer_prefix + paths[g][i] + ".";
                SlotLoad load{&slots[g][i], p, static_cast<std::uint64_t>(scalar(file, prefix + "step")), {}};
                const auto& names = optimizer->state_names();
                const bool stepped = !names.empty() && file.has(prefix + names.front());
                if (stepped)
                    for (const std::string& s : names) load.state.push_back(file.expect(prefix + s, p.shape(), p.dtype()));
                slot_loads.push_back(std::move(load));
            }
        }
    }
    std::size_t schedule_steps = 0;
    std::vector<double> base_lrs;
    if (schedule) {
        schedule_steps = static_cast<std::size_t>(scalar(file, schedule_prefix + "step"));
        for (std::size_t g = 0; g < schedule->base_lrs().size(); ++g)
            base_lrs.push_back(scalar(file, fmt::format("{}group{}.base_lr", schedule_prefix, g)));
    }
    for (const auto& [name, v] : file.entries) {
        if (file.used.count(name)) continue;
        std::string owner = "model";
        if (starts_with(name, optimizer_prefix)) {
            if (!optimizer) continue;
            owner = fmt::format("{} optimizer", optimizer->name());
        } else if (starts_with(name, schedule_prefix)) {
            if (!schedule) continue;
            owner = "schedule";
        }
        throw Error(fmt::format("load: '{}' has an entry '{}' that the {} does not have", path, name, owner));
    }

    for (const auto& [destination, source] : assignments) copy_into(destination, source);
    if (schedule) {
        optim::ScheduleAccess::steps(*schedule) = schedule_steps;
        optim::ScheduleAccess::base_lrs(*schedule) = base_lrs;
    }
    if (!optimizer) return;
    for (std::size_t g = 0; g < lrs.size(); ++g) optimizer->param_groups()[g].lr = lrs[g];
    for (SlotLoad& load : slot_loads) {
        load.slot->steps = load.steps;
        load.slot->state.clear();
        if (load.state.empty()) continue;
        OptimizerAccess::init_state(*optimizer, load.param, *load.slot);
        for (std::size_t s = 0; s < load.state.size(); ++s) copy_into(load.slot->state[s], load.state[s]);
    }
}

Named<Var> optimizer_entries(const nn::Module& model, const optim::Optimizer& optimizer) {
    Named<Var> entries = model_entries(model);
    const auto paths = optimizer_paths("save", model, optimizer);
    const auto& slots = OptimizerAccess::slots(optimizer);
    const auto& groups = optimizer.param_groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        entries.emplace_back(fmt::format("{}group{}.lr", optimizer_prefix, g), Var(groups[g].lr));
        for (std::size_t i = 0; i < groups[g].params.size(); ++i) {
            const std::string prefix = optimizer_prefix + paths[g][i] + ".";
            entries.emplace_back(prefix + "step", Var(static_cast<double>(slots[g][i].steps)));
            for (std::size_t s = 0; s < slots[g][i].state.size(); ++s)
                entries.emplace_back(prefix + optimizer.state_names()[s], slots[g][i].state[s]);
        }
    }
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
    entries.emplace_back(schedule_prefix + "step", Var(static_cast<double>(schedule.steps())));
    for (std::size_t g = 0; g < schedule.base_lrs().size(); ++g)
        entries.emplace_back(fmt::format("{}group{}.base_lr", schedule_prefix, g), Var(schedule.base_lrs()[g]));
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
