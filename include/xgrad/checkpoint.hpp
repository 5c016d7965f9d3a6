#pragma once
// Checkpoints as .npz files (a zip of .npy arrays, what numpy.savez writes and numpy.load reads).
// Writes go to a temporary file in the same directory that is renamed over the target only when complete,
// so a crash never leaves a half-written checkpoint. Reads check everything before changing anything.
#include <xgrad/nn.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/schedule.hpp>
#include <xgrad/var.hpp>

#include <string>

namespace xg {

/// Writes named float32/float64 arrays as `name.npy` entries of an .npz file.
void save_npz(const std::string& path, const Named<Var>& arrays);
/// Reads every array of an .npz file, in file order, C or Fortran order (the array comes back row-major, in its
/// own shape) and either byte order. Each dtype becomes the narrower of float32 and float64 that holds its values
/// exactly (numpy's promote_types(dtype, float32)): float32 and float64 as they are; float16, bool, int8, uint8,
/// int16 and uint16 as float32; int32, uint32, int64 and uint64 as float64, an int64 or uint64 value that float64
/// cannot hold exactly being refused. A missing, truncated or corrupt file, or a dtype no Var can hold (complex,
/// strings, objects, structured), throws Error naming the file, the entry and what was wrong.
Named<Var> load_npz(const std::string& path);

/// Saves the model's parameters and buffers under their paths ("fc1.weight", "bn.running_mean").
void save(const std::string& path, const nn::Module& model);
/// Also saves the optimizer: each group's "optimizer.group<g>.lr", and per parameter
/// "optimizer.<parameter path>.step" and its state arrays ("optimizer.fc1.weight.exp_avg", ...).
void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer);
/// Also saves the schedule's step count "schedule.step" and base rates "schedule.group<g>.base_lr", so a
/// resumed run continues the schedule where it stopped.
void save(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
          const optim::LRScheduler& schedule);

/// Loads what save wrote into the model: every parameter and buffer must be in the file with the same shape
/// and dtype, and the file may hold nothing else (optimizer and schedule entries, and the "fit.epoch" of a checkpoint
/// fit wrote, aside). The first mismatch throws Error naming it, and then nothing has been changed.
void load(const std::string& path, nn::Module& model);
/// Loads the model and the optimizer's state (which must be an optimizer of the same kind and settings over
/// the same model parameters).
void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer);
/// Loads the model, the optimizer and the schedule (made for that optimizer) where it stopped.
void load(const std::string& path, nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& schedule);

}  // namespace xg
