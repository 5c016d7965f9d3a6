#pragma once
// A training loop for the common case (Keras's fit, in the terms of PyTorch's C++ frontend): epochs of
// mini-batches, per-epoch loss and accuracy on the training and validation sets, an optional L2 penalty,
// schedule stepping, early stopping, callbacks, a progress display, and a history saved as CSV. The loop is
// short enough to write by hand when a run needs something else; samples/mnist_three_layer.cpp does.
#include <xgrad/data.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/optim.hpp>
#include <xgrad/process_group.hpp>
#include <xgrad/schedule.hpp>

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace xg {

/// One epoch of a run. Values that were not measured (accuracy of a regression, validation without a
/// validation set) are NaN and are written as empty CSV fields.
struct EpochRecord {
    std::size_t epoch = 0;  // from 1
    double lr = 0.0;        // the first group's rate for the epoch's last batch
    double train_loss = 0.0;
    double train_accuracy = 0.0;
    double validation_loss = 0.0;
    double validation_accuracy = 0.0;
    double seconds = 0.0;       // wall time of the epoch, evaluation included
    std::size_t batches = 0;    // batches trained (fewer than the loader's size if interrupted)
};

/// The records of a run, in epoch order.
struct History {
    std::vector<EpochRecord> epochs;
    /// The run's record of FitOptions::validation_name, which csv()'s columns (<name>_loss, <name>_accuracy) and
    /// learning_curves' legend say; a history made by hand starts with fit's default, "val".
    std::string validation_name = "val";
    /// Ctrl-C ended the run after a batch; the last record is the partial epoch.
    bool interrupted = false;
    /// Early stopping ended the run.
    bool stopped_early = false;
    /// The finished epoch with the lowest validation loss (the training loss without a validation set); 0 when
    /// no epoch finished.
    std::size_t best_epoch = 0;

    /// "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,batches" and one line per epoch; an
    /// interrupted epoch is the one whose batches are fewer than the others'.
    std::string csv() const;
    /// Writes csv() to `path` atomically (a temporary file renamed over it), so it is whole or absent.
    void save_csv(const std::string& path) const;
};

/// Maps a model's output for a batch to the loss to minimize.
using LossFunction = std::function<Var(const Var& output, const data::Batch& batch)>;

/// The loss `fit` uses unless told otherwise: softmax cross-entropy for class labels with one output per class,
/// binary cross-entropy with logits for class labels with a single output column, mean squared error for
/// regression targets.
Var default_loss(const Var& output, const data::Batch& batch);

/// What a batch-end callback sees.
struct BatchEnd {
    std::size_t epoch;    // from 1
    std::size_t batch;    // from 0, as an index (messages and the progress bar count from 1)
    std::size_t batches;  // per epoch
    double loss;          // this batch's loss (with the penalty)
    const data::Batch& data;
};

enum class Progress {
    automatic,  // a live bar on a terminal, one line per epoch otherwise
    bar,
    lines,
    none,
};

struct FitOptions {
    // Every member has an initializer, so that FitOptions{.epochs = 3} leaves the rest at their defaults without
    // -Wmissing-field-initializers.
    std::size_t epochs = 10;
    /// Batch size, shuffling (a new seeded order each epoch) and drop_last of the training batches.
    data::DataLoaderOptions loader{};
    /// Evaluated after every epoch when set (not owned; must outlive fit).
    const data::Dataset* validation = nullptr;
    /// What the validation set is called ("test" when the test set is watched) in the progress lines and notes;
    /// fit records it in History::validation_name, which names the CSV's columns and the plot's legend.
    std::string validation_name = "val";
    /// Empty: default_loss.
    LossFunction loss{};
    /// λ of an l2_penalty on the model's parameters added to every batch's loss (0: none).
    double l2 = 0.0;
    /// Stepped after every epoch, or after every optimizer step when scheduler_per_batch (not owned).
    optim::LRScheduler* scheduler = nullptr;
    bool scheduler_per_batch = false;
    /// Stepped after every epoch with the validation loss (the training loss without validation); not owned.
    optim::ReduceLROnPlateau* reduce_lr_on_plateau = nullptr;
    /// Gradient accumulation (PyTorch Lightning's accumulate_grad_batches): the optimizer steps once every k
    /// batches, with the mean of their gradients (each batch's loss is scaled by 1/k), and after an epoch's last
    /// batch; k batches of b rows then step like one batch of k·b rows. The loss and accuracy reported stay
    /// per batch. A Ctrl-C drops the gradient of an unfinished group.
    std::size_t accumulate_grad_batches = 1;
    /// Early stopping: stop when the validation loss (the training loss without validation) has not fallen
    /// below its best minus min_delta for this many epochs; 0 turns it off.
    std::size_t patience = 0;
    double min_delta = 0.0;
    /// When the run ends (epochs done, early stopping, a callback or Ctrl-C), put back the parameters and buffers
    /// the model had at the end of History::best_epoch, like Keras's restore_best_weights.
    bool restore_best = false;
    /// After each epoch, measure the training loss and accuracy over the whole training set in eval mode
    /// instead of averaging the batches as they trained.
    bool evaluate_train = false;
    /// Rows per forward pass when evaluating.
    std::size_t evaluation_batch_size = 256;
    Progress progress = Progress::automatic;
    std::FILE* output = stdout;
    /// When not empty: its header is written before training starts (a path that cannot be written fails at once),
    /// the whole history after every epoch (and when the run stops).
    std::string history_csv{};
    /// When not empty: after every whole epoch, the model, the optimizer, the scheduler (when set) and the number of
    /// epochs finished are saved there (an .npz that xg::load also reads), replacing the previous epoch's.
    std::string checkpoint{};
    /// When not empty: a checkpoint written by fit, loaded into the model, the optimizer and the scheduler before
    /// training; the run goes on from the epoch after the one saved, with that epoch's order of batches, up to
    /// `epochs` in all. The history holds the epochs this run trains.
    std::string resume_from{};
    /// Data-parallel training (not owned; xg::dist::Environment is one, on MPI). Every process of the group runs fit
    /// with the same model, options and data: each trains on its share of every epoch (loader.shards and shard are
    /// set from the group), all start from process 0's parameters and buffers, and each step uses the mean of their
    /// gradients, so the processes take the steps of one process whose batches are the group's size times larger.
    /// Losses and accuracies are measured over the group; buffers (BatchNorm's running statistics) are process 0's,
    /// sent to the others after each epoch; only process 0 displays progress (one line per epoch unless `progress`
    /// says otherwise: mpirun relays output line by line) and writes the history and checkpoint.
    /// A callback's BatchEnd::loss is the whole group's batch loss, and an on_epoch_end that returns false on any
    /// process stops them all.
    ProcessGroup* process_group = nullptr;
    std::function<void(const BatchEnd&)> on_batch_end{};
    /// Called after every epoch; returning false stops the run.
    std::function<bool(const EpochRecord&)> on_epoch_end{};
};

/// Trains `model` on `train` with `optimizer`. Ctrl-C (SIGINT) during fit stops it after the current batch; the
/// partial epoch is evaluated on the validation set like any other, and the history (and its CSV) holds every
/// finished epoch plus the partial one (History::interrupted, EpochRecord::batches). A second Ctrl-C ends the
/// program as usual.
History fit(nn::Module& model, optim::Optimizer& optimizer, const data::Dataset& train, FitOptions options = {});

struct Evaluation {
    double loss = 0.0;
    double accuracy = 0.0;  // NaN for regression sets
};

/// Mean loss and accuracy over `data` in eval mode without recording a graph; the model's mode is restored.
Evaluation evaluate(nn::Module& model, const data::Dataset& data, const LossFunction& loss = {},
                    std::size_t batch_size = 256);

/// The model's outputs for every row of `data` (N, outputs), in eval mode without recording a graph.
Var predict(nn::Module& model, const data::Dataset& data, std::size_t batch_size = 256);

}  // namespace xg
