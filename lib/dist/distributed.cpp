// xg::dist on MPI: the process's MPI session, broadcast of values and bucketed averaging of gradients. Every call is
// collective: each process makes the same calls with tensors of the same shapes, and a mismatch found on any
// process is agreed on first (one small allreduce), so all of them throw instead of some waiting forever.
#include <xgrad/distributed.hpp>
#include <xgrad/errors.hpp>

#include <mpi.h>

#include <fmt/core.h>

#include <algorithm>
#include <climits>
#include <string>

namespace xg::dist {

namespace {

template <class T>
MPI_Datatype mpi_type() {
    return sizeof(T) == 4 ? MPI_FLOAT : MPI_DOUBLE;
}

// MPI counts are ints: longer arrays go in pieces.
template <class Operation>
void in_pieces(std::size_t count, Operation&& operation) {
    for (std::size_t first = 0; first < count; first += INT_MAX)
        operation(first, static_cast<int>(std::min<std::size_t>(INT_MAX, count - first)));
}

// Whether every process found `ok`; each learns the same answer.
bool all_agree(bool ok) {
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == 1;
}

std::size_t element_bytes(const Var& tensor) { return tensor.dtype() == Dtype::float32 ? 4 : 8; }

std::string describe(const Var& tensor, std::size_t index) {
    return fmt::format("tensor {} ({}, {})", index, to_string(tensor.shape()), dtype_name(tensor.dtype()));
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
    int running = 0;
    MPI_Initialized(&running);
    if (running) throw Error("dist::Environment: MPI is already running in this process; make one Environment only");
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw Error("dist::Environment: this MPI cannot give MPI_THREAD_FUNNELED");
    }
}

Environment::~Environment() { MPI_Finalize(); }

int rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int world_size() {
    int n = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void broadcast(const std::vector<Var>& tensors, int root) {
    if (root < 0 || root >= world_size())
        throw Error(fmt::format("dist::broadcast: root {} is not a rank of {} processes", root, world_size()));
    // The root's shapes and dtypes first, so that every process checks its own against them before any value moves.
    std::vector<unsigned long long> layout;  // per tensor: its element size, its rank, its extents
    for (const Var& t : tensors) {
        layout.push_back(element_bytes(t));
        layout.push_back(t.dim());
        for (std::size_t extent : t.shape()) layout.push_back(extent);
    }
    unsigned long long length = layout.size();
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD);
    std::vector<unsigned long long> root_layout(length);
    if (rank() == root) root_layout = layout;
    in_pieces(root_layout.size(), [&](std::size_t first, int count) {
        MPI_Bcast(root_layout.data() + first, count, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD);
    });
    // The first of this process's tensors whose entry differs from the root's names the mismatch.
    std::string mismatch;
    std::size_t at = 0, index = 0;
    for (; index < tensors.size(); ++index) {
        const std::size_t entry_length = 2 + tensors[index].dim();
        const auto entry = layout.begin() + static_cast<std::ptrdiff_t>(at);
        if (at + entry_length > root_layout.size() ||
            !std::equal(entry, entry + static_cast<std::ptrdiff_t>(entry_length),
                        root_layout.begin() + static_cast<std::ptrdiff_t>(at)))
            break;
        at += entry_length;
    }
    if (index < tensors.size())
        mismatch = fmt::format("{} on rank {} differs from rank {}'s", describe(tensors[index], index), rank(), root);
    else if (at < root_layout.size())
        mismatch = fmt::format("rank {} has {} tensors, fewer than rank {}", rank(), tensors.size(), root);
    if (!all_agree(mismatch.empty()))
        throw Error(mismatch.empty() ? fmt::format("dist::broadcast: the tensors of another rank differ from rank {}'s",
                                                   root)
                                     : "dist::broadcast: " + mismatch);
    for (Var t : tensors)
        t.visit_mutable_value([&](auto& value) {
            using T = typename std::decay_t<decltype(value)>::value_type;
            in_pieces(value.size(), [&](std::size_t first, int count) {
                MPI_Bcast(value.data() + first, count, mpi_type<T>(), root, MPI_COMM_WORLD);
            });
        });
}

void average_gradients(const std::vector<Var>& tensors, std::size_t bucket_bytes) {
    std::string missing;
    for (std::size_t i = 0; i < tensors.size() && missing.empty(); ++i)
        if (!tensors[i].grad().defined())
            missing = fmt::format("{} has no gradient on rank {}; every process must run backward through it first",
                                  describe(tensors[i], i), rank());
    if (!all_agree(missing.empty()))
        throw Error(missing.empty() ? std::string("dist::average_gradients: a tensor has no gradient on another rank")
                                    : "dist::average_gradients: " + missing);
    const double scale = 1.0 / world_size();
    // Runs of tensors of one dtype, up to bucket_bytes each, summed as one array.
    std::vector<float> floats;
    std::vector<double> doubles;
    const auto reduce_bucket = [&](auto& bucket, std::size_t first, std::size_t end) {
        using T = typename std::decay_t<decltype(bucket)>::value_type;
        bucket.clear();
        for (std::size_t i = first; i < end; ++i) {
            const auto& g = tensors[i].grad().template value<T>();
            bucket.insert(bucket.end(), g.begin(), g.end());
        }
        in_pieces(bucket.size(), [&](std::size_t offset, int count) {
            MPI_Allreduce(MPI_IN_PLACE, bucket.data() + offset, count, mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
        });
        auto source = bucket.begin();
        for (std::size_t i = first; i < end; ++i) {
            auto& g = tensors[i].grad().template mutable_value<T>();
            for (T& element : g) element = static_cast<T>(*source++ * scale);
        }
    };
    std::size_t first = 0;
    while (first < tensors.size()) {
        const Dtype dtype = tensors[first].dtype();
        std::size_t end = first, bytes = 0;
        while (end < tensors.size() && tensors[end].dtype() == dtype &&
               (end == first || bytes + tensors[end].size() * element_bytes(tensors[end]) <= bucket_bytes)) {
            bytes += tensors[end].size() * element_bytes(tensors[end]);
            ++end;
        }
        if (dtype == Dtype::float32)
            reduce_bucket(floats, first, end);
        else
            reduce_bucket(doubles, first, end);
        first = end;
    }
}

double sum(double value) {
    double total = 0.0;
    MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return total;
}

}  // namespace xg::dist
