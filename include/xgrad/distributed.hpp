#pragma once
// Data-parallel training across processes on MPI (Open MPI): every process runs the same program on its own share of
// the data (DataLoaderOptions::shards), starts from rank 0's parameters, and averages its gradients with the others
// after each backward, so all of them take the same steps. Its own library, xgrad_dist (dependency('xgrad-dist'),
// pkg-config xgrad-dist), built when meson finds MPI; run the program with `mpirun -np N program`.
#include <xgrad/var.hpp>

#include <cstddef>
#include <vector>

namespace xg::dist {

/// MPI for this process, from construction to destruction: MPI_Init_thread asking for MPI_THREAD_FUNNELED (only the
/// thread that made it calls MPI; xgrad's own threads never do), and MPI_Finalize. Make one, first thing in main.
/// Throws xg::Error if MPI is already running or cannot give that thread level.
class Environment {
public:
    Environment(int& argc, char**& argv);
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;
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
/// travel in a few messages. A tensor without a gradient on this process counts as zeros (and gets one). Call it on
/// every process after backward and before the optimizer's step, with the same tensors in the same order.
void average_gradients(const std::vector<Var>& tensors, std::size_t bucket_bytes = std::size_t{1} << 22);

/// The sum of `value` over the processes (MPI_Allreduce), for metrics such as counts of correct predictions.
double sum(double value);

}  // namespace xg::dist
