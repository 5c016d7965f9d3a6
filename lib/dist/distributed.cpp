// xg::dist on MPI: the process's MPI session, broadcast of values and bucketed averaging of gradients. Every call is
// collective: each process makes the same calls with tensors of the same shapes, and a mismatch found on any
// process is agreed on (in a small allreduce, or inside the exchange itself), so all of them throw instead of some
// waiting forever. A watchdog
// thread ends a process that has waited in one call longer than the timeout.
#include <xgrad/distributed.hpp>
#include <xgrad/errors.hpp>

#include <mpi.h>

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace xg::dist {

namespace {

using Clock = std::chrono::steady_clock;

// What the live Environment keeps for the calls. Only the MPI thread writes `traffic`; the watchdog reads the call in
// progress and its start.
struct Session {
    EnvironmentOptions options;
    int rank = 0, size = 1;
    Traffic traffic;
    // average_gradients' buckets, kept from call to call: fresh pages cost a fault each, which made a new 1.7 MB
    // bucket per call take longer than its allreduce (bench/allreduce).
    std::vector<float> float_bucket;
    std::vector<double> double_bucket;
    std::atomic<const char*> waiting_in{nullptr};
    std::atomic<Clock::rep> waiting_since{0};
    std::mutex mutex;
    std::condition_variable wake;
    bool ending = false;
    std::thread watchdog;

    void watch() {
        const auto poll = std::clamp<std::chrono::milliseconds>(options.timeout / 10, std::chrono::milliseconds(10),
                                                                std::chrono::seconds(1));
        std::unique_lock lock(mutex);
        while (!wake.wait_for(lock, poll, [&] { return ending; })) {
            const char* call = waiting_in.load();
            const Clock::duration waited = Clock::now() - Clock::time_point(Clock::duration(waiting_since.load()));
            if (call && waited > options.timeout) {
                // MPI may not be called from this thread; exiting makes mpirun end the others.
                std::fprintf(stderr,
                             "xg::dist: process %d of %d has waited %.1f s in %s for the other processes, longer than "
                             "the timeout (EnvironmentOptions::timeout); one of them has stopped, hangs or is "
                             "unreachable. Ending this process.\n",
                             rank, size, std::chrono::duration<double>(waited).count(), call);
                std::fflush(stderr);
                std::_Exit(EXIT_FAILURE);
            }
        }
    }
};

std::unique_ptr<Session> session;

// MPI_Finalize waits for every process, so a process that leaves with a failure would wait forever for the others,
// which wait for it. Finalizing is left to exit(), which knows the status: a process that fails ends without it, and
// mpirun, seeing its non-zero status, ends the others.
void finalize_at_exit(int status, void*) {
    if (status == EXIT_SUCCESS) MPI_Finalize();
}

Session& current(const char* call) {
    if (!session) throw Error(fmt::format("dist::{}: no dist::Environment is alive; make one first thing in main", call));
    return *session;
}

// One public call, from its start to its end: watched by the watchdog and counted in the traffic.
class Collective {
public:
    explicit Collective(const char* call) : session_(current(call)), call_(call), start_(Clock::now()) {
        session_.waiting_since.store(start_.time_since_epoch().count());
        session_.waiting_in.store(call);
        ++session_.traffic.calls;
    }
    ~Collective() {
        session_.waiting_in.store(nullptr);
        session_.traffic.seconds += std::chrono::duration<double>(Clock::now() - start_).count();
    }
    Collective(const Collective&) = delete;
    Collective& operator=(const Collective&) = delete;

    Session& session() { return session_; }

    // What an MPI function returned through MPI_ERRORS_RETURN, having sent `bytes` of values: a failure is an Error
    // naming the call.
    void check(int code, const char* function, std::size_t bytes) {
        session_.traffic.bytes += bytes;
        if (code == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(code, text, &length);
        throw Error(fmt::format("dist::{}: {} failed on process {}: {}", call_, function, session_.rank,
                                std::string(text, static_cast<std::size_t>(length))));
    }

private:
    Session& session_;
    const char* call_;
    Clock::time_point start_;
};

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
bool all_agree(Collective& collective, bool ok) {
    int mine = ok ? 1 : 0, all = 0;
    collective.check(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce", sizeof mine);
    return all == 1;
}

std::size_t element_bytes(const Var& tensor) { return tensor.dtype() == Dtype::float32 ? 4 : 8; }

std::string describe(const Var& tensor, std::size_t index) {
    return fmt::format("tensor {} ({}, {})", index, to_string(tensor.shape()), dtype_name(tensor.dtype()));
}

}  // namespace

Environment::Environment(int& argc, char**& argv, EnvironmentOptions options) {
    int running = 0;
    MPI_Initialized(&running);
    if (running) throw Error("dist::Environment: MPI is already running in this process; make one Environment only");
    if (options.timeout <= std::chrono::milliseconds(0))
        throw Error(fmt::format("dist::Environment: timeout must be positive, not {} ms", options.timeout.count()));
    if (options.bucket_bytes == 0) throw Error("dist::Environment: bucket_bytes must be positive");
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw Error("dist::Environment: this MPI cannot give MPI_THREAD_FUNNELED");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    ::on_exit(finalize_at_exit, nullptr);
    session = std::make_unique<Session>();
    session->options = options;
    MPI_Comm_rank(MPI_COMM_WORLD, &session->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &session->size);
    session->watchdog = std::thread([s = session.get()] { s->watch(); });
}

Environment::~Environment() {
    {
        std::lock_guard lock(session->mutex);
        session->ending = true;
    }
    session->wake.notify_one();
    session->watchdog.join();
    session.reset();
}

std::size_t Environment::rank() const { return static_cast<std::size_t>(session->rank); }
std::size_t Environment::size() const { return static_cast<std::size_t>(session->size); }
void Environment::broadcast(const std::vector<Var>& tensors) { dist::broadcast(tensors, 0); }
void Environment::average_gradients(const std::vector<Var>& tensors) {
    dist::average_gradients(tensors, session->options.bucket_bytes);
}

void Environment::sum(std::vector<double>& values) {
    Collective collective("sum");
    collective.check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                                   MPI_COMM_WORLD),
                     "MPI_Allreduce", values.size() * sizeof(double));
}

Traffic Environment::traffic() const { return session->traffic; }

int rank() { return current("rank").rank; }
int world_size() { return current("world_size").size; }

void broadcast(const std::vector<Var>& tensors, int root) {
    Collective collective("broadcast");
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
    collective.check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD), "MPI_Bcast", sizeof length);
    std::vector<unsigned long long> root_layout(length);
    if (rank() == root) root_layout = layout;
    in_pieces(root_layout.size(), [&](std::size_t first, int count) {
        collective.check(MPI_Bcast(root_layout.data() + first, count, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD),
                         "MPI_Bcast", static_cast<std::size_t>(count) * sizeof length);
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
    if (!all_agree(collective, mismatch.empty()))
        throw Error(mismatch.empty() ? fmt::format("dist::broadcast: the tensors of another rank differ from rank {}'s",
                                                   root)
                                     : "dist::broadcast: " + mismatch);
    for (Var t : tensors)
        t.visit_mutable_value([&](auto& value) {
            using T = typename std::decay_t<decltype(value)>::value_type;
            in_pieces(value.size(), [&](std::size_t first, int count) {
                collective.check(MPI_Bcast(value.data() + first, count, mpi_type<T>(), root, MPI_COMM_WORLD),
                                 "MPI_Bcast", static_cast<std::size_t>(count) * sizeof(T));
            });
        });
}

void average_gradients(const std::vector<Var>& tensors, std::size_t bucket_bytes) {
    Collective collective("average_gradients");
    if (bucket_bytes == 0) throw Error("dist::average_gradients: bucket_bytes must be positive");
    std::string missing;
    for (std::size_t i = 0; i < tensors.size() && missing.empty(); ++i)
        if (!tensors[i].grad().defined())
            missing = fmt::format("{} has no gradient on rank {}; every process must run backward through it first",
                                  describe(tensors[i], i), rank());
    const double scale = 1.0 / world_size();
    Session& session = collective.session();
    // Runs of tensors of one dtype, up to bucket_bytes each, summed as one array. The first bucket also carries the
    // number of processes that lack a gradient, so that all of them learn it, before any gradient changes, in the
    // exchange they make anyway; a missing gradient travels as zeros.
    const auto reduce_bucket = [&](auto& bucket, std::size_t first, std::size_t end) {
        using T = typename std::decay_t<decltype(bucket)>::value_type;
        bucket.clear();
        for (std::size_t i = first; i < end; ++i) {
            const Var gradient = tensors[i].grad();
            if (!gradient.defined()) {
                bucket.resize(bucket.size() + tensors[i].size(), T(0));
                continue;
            }
            const auto& g = gradient.template value<T>();
            bucket.insert(bucket.end(), g.data(), g.data() + g.size());
        }
        const bool carries_count = first == 0;
        if (carries_count) bucket.push_back(missing.empty() ? T(0) : T(1));
        in_pieces(bucket.size(), [&](std::size_t offset, int count) {
            collective.check(
                MPI_Allreduce(MPI_IN_PLACE, bucket.data() + offset, count, mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD),
                "MPI_Allreduce", static_cast<std::size_t>(count) * sizeof(T));
        });
        if (carries_count && bucket.back() != T(0))
            throw Error(missing.empty() ? std::string("dist::average_gradients: a tensor has no gradient on another rank")
                                        : "dist::average_gradients: " + missing);
        const T* source = bucket.data();
        for (std::size_t i = first; i < end; ++i) {
            auto& g = tensors[i].grad().template mutable_value<T>();
            T* into = g.data();
            for (std::size_t k = 0; k < g.size(); ++k) into[k] = static_cast<T>(source[k] * scale);
            source += g.size();
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
            reduce_bucket(session.float_bucket, first, end);
        else
            reduce_bucket(session.double_bucket, first, end);
        first = end;
    }
}

double sum(double value) {
    Collective collective("sum");
    double total = 0.0;
    collective.check(MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce",
                     sizeof value);
    return total;
}

}  // namespace xg::dist
