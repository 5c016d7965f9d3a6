// xgrad's worker threads, how many there are, and how a job reaches them.
#include "support/thread_pool.hpp"

#include <xgrad/errors.hpp>
#include <xgrad/var.hpp>

#include <fmt/core.h>
#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace xg {

namespace {

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// How long an idle worker keeps spinning before it sleeps: longer than the gap between two training steps (the
// optimizer update and the next batch's gathering), short enough not to hold a core once training has stopped.
constexpr std::chrono::microseconds spin_time{2000};

int cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1U, std::thread::hardware_concurrency());
}

int default_threads() {
    const char* text = std::getenv("XGRAD_NUM_THREADS");
    if (text == nullptr || *text == '\0') return cores();
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < 1 || value > 1024)
        throw Error(fmt::format("XGRAD_NUM_THREADS must be a whole number of threads from 1 to 1024, got '{}'", text));
    return static_cast<int>(value);
}

std::mutex settings;
int chosen_threads = 0;  // 0 until set_num_threads or the first num_threads()
std::unique_ptr<ThreadPool> pool;

// A task's flag, set on whichever thread runs it, and put back as it was (a task may run run_here's).
struct InTask {
    bool& flag;
    const bool previous;
    explicit InTask(bool& f) : flag(f), previous(f) { flag = true; }
    ~InTask() { flag = previous; }
};

}  // namespace

thread_local bool ThreadPool::in_task_ = false;

bool ThreadPool::in_task() { return in_task_; }

int num_threads() {
    std::lock_guard<std::mutex> lock(settings);
    if (chosen_threads == 0) chosen_threads = default_threads();
    return chosen_threads;
}

void set_num_threads(int threads) {
    if (threads < 1) throw Error(fmt::format("set_num_threads: threads must be at least 1, got {}", threads));
    std::lock_guard<std::mutex> lock(settings);
    chosen_threads = threads;
}

ThreadPool& thread_pool() {
    const auto threads = static_cast<std::size_t>(num_threads());
    std::lock_guard<std::mutex> lock(settings);
    if (!pool || pool->threads() != threads) {
        pool.reset();
        pool = std::make_unique<ThreadPool>(threads);
    }
    return *pool;
}

ThreadPool::ThreadPool(std::size_t threads) {
    for (std::size_t part = 1; part < threads; ++part) workers_.emplace_back([this, part] { work(part); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(sleep_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::work(std::size_t part) {
    std::uint64_t seen = 0;
    for (;;) {
        const auto spin_until = std::chrono::steady_clock::now() + spin_time;
        // Spinning on pause, not sched_yield: a yield per turn made a small network's epoch twice as long here.
        for (unsigned i = 1; generation_.load(std::memory_order_acquire) == seen; ++i) {
            pause();
            if (i % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
                std::unique_lock<std::mutex> lock(sleep_mutex_);
                ++sleepers_;
                wake_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_acquire) != seen; });
                --sleepers_;
                if (stopping_) return;
            }
        }
        seen = generation_.load(std::memory_order_acquire);
        if (part < parts_) {
            try {
                InTask running(in_task_);
                (*task_)(part);
            } catch (...) {
                errors_[part] = std::current_exception();
            }
            unfinished_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }
}

void ThreadPool::run_here(std::size_t parts, const std::function<void(std::size_t)>& task) {
    std::exception_ptr first_error;
    for (std::size_t part = 0; part < parts; ++part) {
        try {
            InTask running(in_task_);
            task(part);
        } catch (...) {
            if (!first_error) first_error = std::current_exception();
        }
    }
    if (first_error) std::rethrow_exception(first_error);
}

void ThreadPool::run(std::size_t parts, const std::function<void(std::size_t)>& task) {
    if (parts > threads()) throw std::logic_error("ThreadPool::run: more parts than threads");
    // Inside a task (a data loader or a large product within a part) the workers are taken: the parts run here.
    if (parts <= 1 || in_task_) return run_here(parts, task);
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return run_here(parts, task);
    errors_.assign(parts, nullptr);
    task_ = &task;
    parts_ = parts;
    unfinished_.store(parts - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    {
        std::lock_guard<std::mutex> lock(sleep_mutex_);
        if (sleepers_ > 0) wake_.notify_all();
    }
    try {
        InTask running(in_task_);
        task(0);
    } catch (...) {
        errors_[0] = std::current_exception();
    }
    // Spinning while a worker is off its core (more busy threads than cores) would only keep it off: yield then.
    for (unsigned i = 0; unfinished_.load(std::memory_order_acquire) != 0; ++i)
        i < 4096 ? pause() : std::this_thread::yield();
    task_ = nullptr;
    for (const std::exception_ptr& error : errors_)
        if (error) std::rethrow_exception(error);
}

}  // namespace xg
