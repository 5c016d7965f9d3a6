// An outside program against an xgrad built without PLplot: it trains through the installed headers and library,
// and checks that nothing of PLplot came along (not in the headers, the pkg-config file, the CMake package or the
// loaded libraries), and that libxgrad is the installed one. tests/consumer builds it with meson (pkg-config),
// tests/consumer_cmake with CMake (find_package); each passes the install's directories as XGRAD_INSTALLED_INCLUDEDIR
// and XGRAD_INSTALLED_LIBDIR, and test.sh runs it from where it was installed too.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <xgrad/xgrad.hpp>

#include <doctest/doctest.h>
#include <link.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// The flags the library was compiled with, which the dependency must bring to every file of its users (config.hpp
// checks the -march).
#ifndef XTENSOR_USE_XSIMD
#error "the xgrad dependency did not define XTENSOR_USE_XSIMD"
#endif

namespace fs = std::filesystem;

namespace {

std::string contents(const fs::path& path) {
    std::ifstream file(path);
    return {std::istreambuf_iterator<char>(file), {}};
}

std::vector<std::string> loaded_libraries() {
    std::vector<std::string> paths;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* out) {
            if (info->dlpi_name && *info->dlpi_name)
                static_cast<std::vector<std::string>*>(out)->push_back(info->dlpi_name);
            return 0;
        },
        &paths);
    return paths;
}

const fs::path include = XGRAD_INSTALLED_INCLUDEDIR, lib = XGRAD_INSTALLED_LIBDIR;

}  // namespace

TEST_CASE("fit learns y = 3x - 1 with the engine alone") {
    xg::Generator generator(7);
    xg::data::Dataset line;
    line.inputs = xg::rand({64, 1}, generator, xg::Dtype::float32, -1.0, 1.0).value<float>();
    line.targets = 3.0f * line.inputs - 1.0f;
    xg::nn::Linear model(1, 1, generator);
    xg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    xg::FitOptions options;
    options.epochs = 100;
    options.loader.batch_size = 16;
    options.progress = xg::Progress::none;
    const xg::History history = xg::fit(model, sgd, line, options);
    CHECK(history.epochs.back().train_loss < 1e-6);
    CHECK(model.weight.item() == doctest::Approx(3.0).epsilon(1e-3));
    CHECK(model.bias.item() == doctest::Approx(-1.0).epsilon(1e-3));
}

TEST_CASE("this xgrad has no plots, and nothing of PLplot comes with it") {
    CHECK(XGRAD_HAS_PLOT == 0);
    CHECK(fs::exists(include / "xgrad" / "config.hpp"));
    CHECK(!fs::exists(include / "xgrad" / "plot.hpp"));

    const std::string pkg_config = contents(lib / "pkgconfig" / "xgrad.pc");
    REQUIRE(!pkg_config.empty());
    CHECK(pkg_config.find("plplot") == std::string::npos);
    // The flags the library was compiled with, which every user's translation unit must share.
    CHECK(pkg_config.find("-DXTENSOR_USE_XSIMD -march=") != std::string::npos);

    const std::string cmake_package = contents(lib / "cmake" / "xgrad" / "xgradConfig.cmake");
    REQUIRE(!cmake_package.empty());
    CHECK(fs::exists(lib / "cmake" / "xgrad" / "xgradConfigVersion.cmake"));
    CHECK(cmake_package.find("set(xgrad_HAS_PLOT 0)") != std::string::npos);
    CHECK(cmake_package.find("plplotcxx") == std::string::npos);
    CHECK(cmake_package.find("INTERFACE_COMPILE_DEFINITIONS \"XTENSOR_USE_XSIMD\"") != std::string::npos);
    CHECK(cmake_package.find("INTERFACE_COMPILE_OPTIONS \"-march=" XGRAD_CPU_BASELINE "\"") != std::string::npos);
}

TEST_CASE("the libxgrad loaded is the installed one, and no PLplot") {
    bool found_xgrad = false;
    for (const std::string& path : loaded_libraries()) {
        INFO(path);
        CHECK(path.find("plplot") == std::string::npos);
        if (fs::path(path).filename().string().starts_with("libxgrad.so")) {
            found_xgrad = true;
            CHECK(fs::equivalent(fs::path(path).parent_path(), lib));
        }
    }
    CHECK(found_xgrad);
}
