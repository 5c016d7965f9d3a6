#pragma once
// What every suite shares: temporary directories, random float64 inputs and a gradcheck assertion that prints
// its report on failure.
#include <xgrad/xgrad.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace check {

// A fresh directory per test case, removed afterwards.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "xgrad_test_XXXXXX").string();
        path = mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (const auto& entry : std::filesystem::directory_iterator(path))
            out.push_back(entry.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

/// The message of the E that f throws, or a message saying none was thrown.
template <class E = xg::Error>
std::string error_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "no exception of the expected type";
}

using Function = std::function<xg::Var(const std::vector<xg::Var>&)>;

/// A float64 leaf that requires grad, uniform in [low, high).
inline xg::Var input(xg::Generator& generator, const xg::Shape& shape, double low = -2.0, double high = 2.0) {
    return xg::rand(shape, generator, xg::Dtype::float64, low, high).set_requires_grad();
}

/// Gradchecks f at the inputs and asserts it passes, showing the per-input report either way.
inline void gradient(const Function& f, const std::vector<xg::Var>& inputs) {
    const xg::GradcheckReport report = xg::gradcheck(f, inputs);
    INFO(report.to_string());
    CHECK(report.passed);
}

/// The same for the second derivative: gradchecks x ↦ d f / d x computed with create_graph, i.e. checks that
/// backward through the backward pass gives the Hessian-vector products finite differences give.
inline void second_gradient(const Function& f, const std::vector<xg::Var>& inputs) {
    const Function first = [&](const std::vector<xg::Var>& xs) {
        std::vector<xg::Var> wanted;
        for (const xg::Var& x : xs)
            if (x.requires_grad()) wanted.push_back(x);
        std::vector<xg::Var> gradients = xg::grad(f(xs), wanted, xg::Var(), {.create_graph = true});
        xg::Var all = xg::reshape(gradients[0], {-1});
        for (std::size_t i = 1; i < gradients.size(); ++i)
            all = xg::concat({all, xg::reshape(gradients[i], {-1})});
        return all;
    };
    gradient(first, inputs);
}

}  // namespace check
