// Checkpoints: which entries of an .npz a model, its optimizer and its schedule are saved as, and a load that
// checks them all before it changes anything; fit's checkpoints add the epochs finished.
#include "io/checkpoint.hpp"

#include <xgrad/checkpoint.hpp>
#include <xgrad/errors.hpp>

#include "optim/state_entries.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace xg {

namespace {

const std::string optimizer_prefix = "optimizer.";
const std::string schedule_prefix = "schedule.";
const std::string fit_epoch = "fit.epoch";

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

void load_checkpoint(const std::string& path, const Named<Var>& file, nn::Module& model, optim::Optimizer* optimizer,
                     optim::LRScheduler* schedule) {
    const std::string where = fmt::format("load: '{}'", path);

    // The model's entries are checked first and assigned last, once the optimizer and schedule have loaded.
    StateEntries model_file(where, file);
    std::vector<std::pair<Var, Var>> assignments;  // destination, source
    for (const auto& [name, v] : model_entries(model))
        assignments.emplace_back(v, model_file.expect(name, v.shape(), v.dtype()));
    for (const auto& [name, v] : file)
        if (!name.starts_with(optimizer_prefix) && !name.starts_with(schedule_prefix) && name != fit_epoch &&
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

Named<Var> schedule_entries(const nn::Module& model, const optim::Optimizer& optimizer,
                            const optim::LRScheduler& schedule) {
    Named<Var> entries = optimizer_entries(model, optimizer);
    add_prefixed(entries, schedule_prefix, schedule.state_dict());
    return entries;
}

}  // namespace

void save(const std::string& path, const nn::Module& model) { save_npz(path, model_entries(model)); }

void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer) {
    save_npz(path, optimizer_entries(model, optimizer));
}

void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
          const optim::LRScheduler& schedule) {
    save_npz(path, schedule_entries(model, optimizer, schedule));
}

void load(const std::string& path, nn::Module& model) { load_checkpoint(path, load_npz(path), model, nullptr, nullptr); }

void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer) {
    load_checkpoint(path, load_npz(path), model, &optimizer, nullptr);
}

void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& schedule) {
    load_checkpoint(path, load_npz(path), model, &optimizer, &schedule);
}

void save_fit_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                         const optim::LRScheduler* schedule, std::size_t epochs_finished) {
    Named<Var> entries = schedule ? schedule_entries(model, optimizer, *schedule) : optimizer_entries(model, optimizer);
    entries.emplace_back(fit_epoch, Var(static_cast<double>(epochs_finished)));
    save_npz(path, entries);
}

std::size_t load_fit_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                                optim::LRScheduler* schedule) {
    const Named<Var> file = load_npz(path);
    const auto entry = std::find_if(file.begin(), file.end(), [](const auto& named) { return named.first == fit_epoch; });
    if (entry == file.end())
        throw Error(fmt::format("fit: '{}' has no entry '{}': it is not a checkpoint fit wrote", path, fit_epoch));
    const Var& epoch = entry->second;
    const double epochs = epoch.size() == 1 ? epoch.item() : -1.0;
    if (!(epochs >= 0.0 && epochs <= 1e15 && epochs == std::floor(epochs)))
        throw Error(fmt::format("fit: '{}': entry '{}' (shape {}) is not a count of epochs", path, fit_epoch,
                                to_string(epoch.shape())));
    load_checkpoint(path, file, model, &optimizer, schedule);
    return static_cast<std::size_t>(epochs);
}

}  // namespace xg
