// dist::average_gradients on any number of processes (meson runs it on 3 and on 4): tensors shorter than the process
// count, buckets of one tensor and of all, and both dtypes must all come out as the exact mean; and gradients that
// round must come out the same to the last bit on every process, or the processes' weights would drift apart.
#include <xgrad/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <vector>

namespace dist = xg::dist;

int main(int argc, char** argv) {
    // Before MPI starts, a call says what is missing instead of crashing inside MPI.
    std::string before_environment;
    try {
        dist::sum(1.0);
    } catch (const xg::Error& error) {
        before_environment = error.what();
    }
    dist::Environment mpi(argc, argv);
    const int rank = dist::rank(), size = dist::world_size();
    const std::vector<std::size_t> lengths = {1, 2, 5, 7, 1000, 3};
    int failures = 0;
    if (before_environment != "dist::sum: no dist::Environment is alive; make one first thing in main") {
        ++failures;
        fmt::print("process {}: dist::sum before the Environment said '{}'\n", rank, before_environment);
    }
    for (const std::size_t bucket_bytes : {std::size_t{1}, std::size_t{64}, std::size_t{1} << 22}) {
        std::vector<xg::Var> tensors;
        for (std::size_t t = 0; t < lengths.size(); ++t) {
            const xg::Dtype dtype = t % 2 == 0 ? xg::Dtype::float32 : xg::Dtype::float64;
            xg::Var tensor = xg::zeros({lengths[t]}, dtype);
            tensor.set_requires_grad();
            // Gradient element i on process r: r·1000 + t·10 + i, integers every dtype holds exactly.
            xt::xarray<double> gradient = xt::arange<double>(static_cast<double>(lengths[t])) +
                                          static_cast<double>(rank * 1000 + static_cast<int>(t) * 10);
            xg::sum(tensor * xg::Var(gradient).to(dtype)).backward();
            tensors.push_back(tensor);
        }
        dist::average_gradients(tensors, bucket_bytes);
        // The mean over processes of r·1000 is 1000·(N − 1)/2.
        for (std::size_t t = 0; t < tensors.size(); ++t) {
            const xt::xarray<double> got = tensors[t].grad().to(xg::Dtype::float64).value<double>();
            for (std::size_t i = 0; i < lengths[t]; ++i) {
                const double sum = static_cast<double>(size) * static_cast<double>(t * 10 + i) +
                                   1000.0 * size * (size - 1) / 2.0;
                const double expected = tensors[t].dtype() == xg::Dtype::float32
                                            ? static_cast<double>(static_cast<float>(sum * (1.0 / size)))
                                            : sum * (1.0 / size);
                if (got(i) != expected) {
                    ++failures;
                    if (failures <= 5)
                        fmt::print("process {}: bucket {} tensor {} element {}: {} instead of {}\n", rank,
                                   bucket_bytes, t, i, got(i), expected);
                }
            }
        }
    }
    // Rounded sums: every process must hold process 0's bits.
    xg::Generator generator(static_cast<std::uint64_t>(rank) + 1);
    std::vector<xg::Var> rounding;
    for (const std::size_t length : {std::size_t{3}, std::size_t{40000}, std::size_t{433890}}) {
        xg::Var tensor = xg::zeros({length});
        tensor.set_requires_grad();
        xg::sum(tensor * xg::randn({length}, generator)).backward();
        rounding.push_back(tensor);
    }
    dist::average_gradients(rounding);
    for (const xg::Var& tensor : rounding) {
        xg::Var from_process_0 = tensor.grad().detach();
        dist::broadcast({from_process_0});
        if (!(from_process_0.value<float>() == tensor.grad().value<float>())) {
            ++failures;
            fmt::print("process {}: the mean of {} rounded gradients differs from process 0's\n", rank,
                       tensor.size());
        }
    }
    const double all_failures = dist::sum(failures);
    if (rank == 0)
        fmt::print("{} processes: {}\n", size, all_failures == 0 ? "every mean exact" : "means differ");
    return all_failures == 0 ? 0 : 1;
}
