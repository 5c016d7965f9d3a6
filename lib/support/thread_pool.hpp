#pragma once
// The threads xgrad runs work on besides the caller's: a few persistent workers that pick up a job within a
// microsecond or two, because a training step of a small network lasts about 100 µs and waking a sleeping thread
// costs tens.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xg {

class ThreadPool {
public:
    /// A pool whose jobs run on `threads` threads: the caller and threads − 1 workers.
    explicit ThreadPool(std::size_t threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    std::size_t threads() const { return workers_.size() + 1; }
    /// Whether this thread is running a task of some pool: a task must not start another (matrix products inside one
    /// stay on its thread).
    static bool in_task();
    /// Runs task(0) on the calling thread and task(1) … task(parts − 1) on workers, all at once, and returns when
    /// all have finished; parts ≤ threads(). While another thread's job holds the workers, or when called from a
    /// task, the caller runs every part itself, one after another. An exception thrown by a task is rethrown here
    /// (the lowest part's) after every part has finished.
    void run(std::size_t parts, const std::function<void(std::size_t)>& task);
    /// run's tasks one after another on the calling thread, marked as tasks all the same.
    static void run_here(std::size_t parts, const std::function<void(std::size_t)>& task);

private:
    void work(std::size_t part);

    static thread_local bool in_task_;
    std::vector<std::thread> workers_;
    // A job is published by bumping `generation_`; each worker runs its part if it is below `parts_` and then
    // decrements `unfinished_`.
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::size_t> unfinished_{0};
    std::size_t parts_ = 0;
    const std::function<void(std::size_t)>* task_ = nullptr;
    std::vector<std::exception_ptr> errors_;
    std::mutex busy_;  // held by the thread whose job the workers run
    // Idle workers spin for a while (the next step's job usually comes within that time), then sleep here.
    std::mutex sleep_mutex_;
    std::condition_variable wake_;
    std::size_t sleepers_ = 0;
    bool stopping_ = false;
};

/// The pool of num_threads() threads that xgrad's parallel work runs on, made again when set_num_threads changes
/// the count. Only one thread at a time may run work on it (the one that trains).
ThreadPool& thread_pool();

}  // namespace xg
