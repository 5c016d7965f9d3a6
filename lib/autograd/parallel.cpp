// Data parallelism over the cores: parallel_backward runs parts of a batch at once, each on its own tape and with its
// own leaf gradients, and adds those into .grad at the end.
#include "autograd/node.hpp"
#include "support/thread_pool.hpp"

#include <deque>
#include <functional>
#include <mutex>

namespace xg {

thread_local LeafGradients* LeafGradients::redirect = nullptr;

namespace {

// A part runs with the caller's modes and, past part 0, with its own leaf gradients.
struct RunningPart {
    GradModeGuard grad_mode;
    AnomalyModeGuard anomaly_mode;
    RunningPart(bool grad, bool anomaly, LeafGradients* gradients) : grad_mode(grad), anomaly_mode(anomaly) {
        LeafGradients::redirect = gradients;
    }
    ~RunningPart() { LeafGradients::redirect = nullptr; }
};

}  // namespace

void parallel_backward(std::size_t parts, const std::function<void(std::size_t part)>& work) {
    if (ThreadPool::in_task()) throw Error("parallel_backward: a part cannot start parallel_backward again");
    const auto threads = static_cast<std::size_t>(num_threads());
    if (parts > threads)
        throw Error(fmt::format("parallel_backward: {} parts need {} threads, but xgrad uses {} (set_num_threads)",
                                parts, parts, threads));
    if (parts == 0) return;
    const bool grad = is_grad_enabled(), anomaly = is_anomaly_enabled();
    // Each part's gradients, kept by the thread that runs it; the caller reads them once every part has finished.
    // (The caller's list: a thread_local named inside the lambda would be each worker's own.)
    thread_local std::vector<LeafGradients*> callers_gradients;
    std::vector<LeafGradients*>& gradients = callers_gradients;
    gradients.assign(parts, nullptr);
    const auto run_part = [&](std::size_t part) {
        // One set per part index: a thread that runs several parts in turn keeps them apart (a deque does not move
        // its elements as it grows).
        thread_local std::deque<LeafGradients> own;
        if (own.size() <= part) own.resize(part + 1);
        if (part > 0) {
            for (auto& [node, slot] : own[part].slots) slot.written = false;
            gradients[part] = &own[part];
        }
        RunningPart running(grad, anomaly, part > 0 ? &own[part] : nullptr);
        work(part);
    };
    // The workers' arrays belong to one call at a time, from its parts to its sum below. A call made meanwhile (a
    // second training thread) runs its parts one after another on its own thread, with that thread's arrays.
    static std::mutex workers_in_use;
    std::unique_lock<std::mutex> workers(workers_in_use, std::try_to_lock);
    // By reference: a std::function holding the lambda itself would allocate at every call.
    if (workers.owns_lock())
        thread_pool().run(parts, std::ref(run_part));
    else
        ThreadPool::run_here(parts, std::ref(run_part));
    for (std::size_t part = 1; part < parts; ++part) {
        for (auto it = gradients[part]->slots.begin(); it != gradients[part]->slots.end();) {
            LeafGradients::Slot& slot = it->second;
            std::shared_ptr<Node> leaf = slot.leaf.lock();
            if (!leaf) {
                it = gradients[part]->slots.erase(it);
                continue;
            }
            if (slot.written) add_to_grad(*leaf, slot.grad);
            ++it;
        }
    }
}

}  // namespace xg
