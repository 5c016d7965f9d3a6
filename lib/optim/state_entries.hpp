#pragma once
// Named arrays checked entry by entry before anything is assigned from them: the state_dicts of optimizers and
// schedules, and checkpoints.
#include "support/checks.hpp"

#include <xgrad/errors.hpp>
#include <xgrad/var.hpp>

#include <fmt/core.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace xg {

class StateEntries {
public:
    /// `where` starts every message: "load: 'run.npz'", "Adam::load_state_dict: the state".
    StateEntries(std::string where, const Named<Var>& entries) : where_(std::move(where)) {
        for (const auto& [name, v] : entries)
            if (!entries_.emplace(name, v).second)
                throw Error(fmt::format("{} has two entries '{}'", where_, name));
    }

    /// The entry `name`, which must have the given shape and dtype.
    const Var& expect(const std::string& name, const Shape& shape, Dtype dtype) {
        const auto found = entries_.find(name);
        if (found == entries_.end())
            throw Error(fmt::format("{} has no entry '{}' (expected {} {})", where_, name, to_string(shape),
                                    dtype_name(dtype)));
        const Var& v = found->second;
        if (v.shape() != shape || v.dtype() != dtype)
            throw Error(fmt::format("{} entry '{}' is {} {}, expected {} {}", where_, name, to_string(v.shape()),
                                    dtype_name(v.dtype()), to_string(shape), dtype_name(dtype)));
        used_.insert(name);
        return v;
    }
    bool has(const std::string& name) const { return entries_.count(name) != 0; }
    bool has_used(const std::string& name) const { return used_.count(name) != 0; }

    /// A learning rate as the optimizers accept one when constructed: a finite non-negative number.
    double learning_rate(const std::string& name) {
        const double lr = scalar(name);
        if (!is_finite_non_negative(lr))
            throw Error(fmt::format("{} entry '{}': a learning rate must be a non-negative number, got {}", where_,
                                    name, lr));
        return lr;
    }

    /// A float64 scalar that is a number: ±Inf pass (a best metric not yet set), NaN does not.
    double number(const std::string& name) {
        const double value = scalar(name);
        if (std::isnan(value)) throw Error(fmt::format("{} entry '{}' is NaN", where_, name));
        return value;
    }

    /// A count of steps: a whole number from 0 to 2^53, up to which a double holds every integer.
    std::uint64_t step_count(const std::string& name) {
        const double steps = scalar(name);
        if (!(steps >= 0.0 && steps <= 0x1p53 && steps == std::floor(steps)))
            throw Error(fmt::format("{} entry '{}': a step count must be a whole number from 0 to 2^53, got {}",
                                    where_, name, steps));
        return static_cast<std::uint64_t>(steps);
    }

    /// Refuses any entry no expect() asked for; `owner` says whose entries these are ("Adam optimizer").
    void refuse_unused(const std::string& owner) const {
        for (const auto& [name, v] : entries_)
            if (!used_.count(name))
                throw Error(fmt::format("{} has an entry '{}' that the {} does not have", where_, name, owner));
    }

private:
    double scalar(const std::string& name) { return expect(name, Shape{}, Dtype::float64).item(); }

    std::string where_;
    std::map<std::string, Var> entries_;
    std::set<std::string> used_;
};

}  // namespace xg
