#pragma once
// Data-parallel training across processes on MPI (Open MPI): every process runs the same program on its own share of
// the data, starts from rank 0's parameters, and averages its gradients with the others after each backward, so all
// of them take the same steps. Give fit the Environment (FitOptions::process_group) and it does all of that; the
// calls below are for loops written by hand. Its own library, xgrad_dist (dependency('xgrad-dist'), pkg-config
// xgrad-dist), built when meson finds MPI; run the program with `mpirun -np N program`.
#include <xgrad/process_group.hpp>
#include <xgrad/var.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace xg::dist {

struct EnvironmentOptions {
    /// How long one call below (or one of fit's) may wait for the other processes. A process that waits longer
    /// prints which call it was in and exits with status 1, and mpirun then ends the others: a process that stopped
    /// or hangs ends the run instead of leaving it waiting forever. (A process that dies is mpirun's to notice: it
    /// ends the run at once.) Make it longer than the longest time one process may spend alone between calls, such as
    /// writing a checkpoint.
    std::chrono::milliseconds timeout = std::chrono::minutes(10);
    /// The bucket size fit's gradient averaging uses (average_gradients' bucket_bytes).
    std::size_t bucket_bytes = std::size_t{1} << 22;
};

/// What this process's calls have sent so far: how many collective calls, how many bytes of values went into them
/// (each gradient or broadcast tensor once, plus the small agreements and sums), and the wall time spent inside them,
/// waiting for the other processes included.
struct Traffic {
    std::size_t calls = 0;
    std::size_t bytes = 0;
    double seconds = 0.0;
};

/// MPI for this process: MPI_Init_thread asking for MPI_THREAD_FUNNELED (only the thread that made it calls MPI;
/// xgrad's own threads never do). Make one, first thing in main. It is the process group of every process mpirun
/// started (MPI_COMM_WORLD), for FitOptions::process_group. MPI errors come back as xg::Error naming the call.
/// MPI_Finalize, which waits for every process, comes when the program exits with status 0; a process that exits
/// with any other status skips it, and mpirun then ends the others instead of leaving them waiting for it. Throws
/// xg::Error if MPI is already running or cannot give that thread level.
class Environment : public ProcessGroup {
public:
    Environment(int& argc, char**& argv, EnvironmentOptions options = {});
    ~Environment() override;
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    std::size_t rank() const override;
    std::size_t size() const override;
    /// broadcast(tensors, 0).
    void broadcast(const std::vector<Var>& tensors) override;
    /// average_gradients(tensors, options.bucket_bytes).
    void average_gradients(const std::vector<Var>& tensors) override;
    /// One MPI_Allreduce for all the values.
    void sum(std::vector<double>& values) override;
    Traffic traffic() const;
};

/// This process's number, 0 to world_size() − 1 (MPI_Comm_rank of MPI_COMM_WORLD).
int rank();
/// How many processes run the program (MPI_Comm_size).
int world_size();

/// Overwrites every tensor's value on every process with its value on `root` (MPI_Bcast): the same starting
/// parameters and buffers everywhere. Every process must pass tensors of the same shapes and dtypes, in the same
/// order; a mismatch is an Error naming the tensor, found before any value moves.
void broadcast(const std::vector<Var>& tensors, int root = 0);

/// Replaces each tensor's gradient by its mean over the processes (MPI_Allreduce of the sum, divided by
/// world_size()). Gradients are packed into buckets of about `bucket_bytes` per dtype, so that many small gradients
/// travel in a few messages. Call it on every process after backward and before the optimizer's step, with the same
/// tensors in the same order; a tensor without a gradient on any process is an Error on every process.
void average_gradients(const std::vector<Var>& tensors, std::size_t bucket_bytes = std::size_t{1} << 22);

/// The sum of `value` over the processes (MPI_Allreduce), for metrics such as counts of correct predictions.
double sum(double value);

}  // namespace xg::dist
