#pragma once
// The processes of a data-parallel run, as fit uses them (PyTorch's ProcessGroup): each process trains on its own
// share of every batch, and these calls keep their models the same. xg::dist::Environment (<xgrad/distributed.hpp>,
// library xgrad_dist) is the one over MPI; libxgrad itself never talks to other processes.
#include <xgrad/var.hpp>

#include <cstddef>
#include <vector>

namespace xg {

/// Every call is collective: each process makes the same calls, in the same order, with tensors of the same shapes
/// and dtypes. A process that finds a mismatch must make all of them throw, not leave the others waiting.
class ProcessGroup {
public:
    virtual ~ProcessGroup() = default;
    /// This process's number, from 0; process 0 prints and writes files.
    virtual std::size_t rank() const = 0;
    /// How many processes there are.
    virtual std::size_t size() const = 0;
    /// Every process gets process 0's values of `tensors`.
    virtual void broadcast(const std::vector<Var>& tensors) = 0;
    /// Each tensor's gradient becomes its mean over the processes.
    virtual void average_gradients(const std::vector<Var>& tensors) = 0;
    /// Each value becomes its sum over the processes.
    virtual void sum(std::vector<double>& values) = 0;
};

}  // namespace xg
