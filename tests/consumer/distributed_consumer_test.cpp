// An outside program on the installed xg::dist, built when the install has it: by tests/consumer with meson
// (dependency('xgrad-dist')) and by tests/consumer_cmake with CMake (xgrad::dist). Run under `mpirun -np 2`, as
// meson test and test.sh do: both ranks make the same calls, rank 0 prints doctest's report and rank 1 only its
// failures, and the program fails on every rank if a check failed on any.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <vector>

namespace dist = xg::dist;

namespace {

// Element by element, so that a mismatch prints both numbers and where.
void check_values(const xg::Var& x, const std::vector<double>& expected) {
    const std::vector<double> values = x.to_vector<double>();
    REQUIRE(values.size() == expected.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        INFO("rank ", dist::rank(), ", element ", i);
        CHECK(values[i] == expected[i]);
    }
}

}  // namespace

TEST_CASE("broadcast gives every rank rank 0's values") {
    REQUIRE(dist::world_size() == 2);
    const xg::Var weight(dist::rank() == 0 ? xt::xarray<double>{0.5, -1.5, 2.0} : xt::xarray<double>{7.0, 8.0, 9.0});
    dist::broadcast({weight});
    check_values(weight, {0.5, -1.5, 2.0});
}

TEST_CASE("average_gradients leaves each rank the mean of the two ranks' gradients") {
    REQUIRE(dist::world_size() == 2);
    const xg::Var weight(xt::xarray<double>{0.5, -1.5, 2.0}, true);
    // The gradient of sum(weight * inputs) is the inputs: (1, 2, -3) on rank 0, (3, -6, 5) on rank 1.
    const xg::Var inputs(dist::rank() == 0 ? xt::xarray<double>{1.0, 2.0, -3.0} : xt::xarray<double>{3.0, -6.0, 5.0});
    xg::sum(weight * inputs).backward();
    dist::average_gradients({weight});
    check_values(weight.grad(), {2.0, -2.0, 1.0});
}

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    doctest::Context context(argc, argv);
    context.setOption("no-colors", true);  // test.sh reads the summary line
    if (dist::rank() != 0) context.setOption("minimal", true);
    const int failed = context.run() != 0 ? 1 : 0;
    return dist::sum(failed) > 0 ? 1 : 0;
}
