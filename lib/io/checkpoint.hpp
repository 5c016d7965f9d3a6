#pragma once
// fit's checkpoints (FitOptions::checkpoint, resume_from): what save(path, model, optimizer[, schedule]) writes, and
// the number of epochs finished as the entry "fit.epoch", which load() leaves aside.
#include <xgrad/nn.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/schedule.hpp>

#include <cstddef>
#include <string>

namespace xg {

void save_fit_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                         const optim::LRScheduler* schedule, std::size_t epochs_finished);

/// Loads a file save_fit_checkpoint wrote into the model, the optimizer and the schedule (when given) and returns its
/// epochs finished; any other file is refused, and then nothing has been changed.
std::size_t load_fit_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                                optim::LRScheduler* schedule);

}  // namespace xg
