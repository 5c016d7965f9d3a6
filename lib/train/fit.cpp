// fit, evaluate and predict; the history's CSV; the progress display and the Ctrl-C handling; data-parallel runs.
#include "data/dataset.hpp"
#include "io/checkpoint.hpp"
#include "io/files.hpp"
#include "support/checks.hpp"
#include "support/thread_pool.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/ops.hpp>
#include <xgrad/regularization.hpp>
#include <xgrad/train.hpp>

#include <fmt/core.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <exception>
#include <functional>
#include <csignal>
#include <limits>

namespace xg {

namespace {

constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string csv_field(double v) { return std::isnan(v) ? "" : fmt::format("{:.6g}", v); }

// NaN as "nan" whatever its sign bit ("-nan" reads like a different failure).
std::string number_text(double v) { return std::isnan(v) ? "nan" : fmt::format("{}", v); }

// Batches arrive as float32; a float64 model gets float64 inputs.
Dtype input_dtype(const nn::Module& model) {
    const std::vector<Var> parameters = model.parameters();
    return parameters.empty() ? Dtype::float32 : parameters.front().dtype();
}

// Restores the model's training mode when it goes out of scope.
struct ModeGuard {
    nn::Module& model;
    bool training;
    explicit ModeGuard(nn::Module& m) : model(m), training(m.is_training()) {}
    ~ModeGuard() { model.train(training); }
};

// Ctrl-C during fit: the first sets a flag the loop reads after each batch and puts the default action back, so
// a second one ends the program. An atomic (lock-free, so a signal handler may set it), because two threads may
// each run fit.
std::atomic<bool> interrupt_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_interrupt(int) {
    interrupt_requested.store(true, std::memory_order_relaxed);
    std::signal(SIGINT, SIG_DFL);
}

struct InterruptGuard {
    struct sigaction previous {};
    InterruptGuard() {
        interrupt_requested.store(false, std::memory_order_relaxed);
        struct sigaction action {};
        action.sa_handler = on_interrupt;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &previous);
    }
    ~InterruptGuard() { sigaction(SIGINT, &previous, nullptr); }
};

// The terminal's width in columns: the stream's own terminal, else $COLUMNS, else 80.
std::size_t terminal_columns(std::FILE* out) {
    winsize size{};
    if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
    if (const char* columns = std::getenv("COLUMNS")) {
        char* end = nullptr;
        const unsigned long value = std::strtoul(columns, &end, 10);
        if (end != columns && *end == '\0' && value >= 20 && value <= 1000) return value;
    }
    return 80;
}

std::string duration(double seconds) {
    const auto s = static_cast<long>(std::lround(seconds));
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

class Display {
public:
    Display(const FitOptions& options, std::size_t batches)
        : out_(options.output), epochs_(options.epochs), batches_(batches) {
        mode_ = options.progress;
        if (!out_) mode_ = Progress::none;
        if (mode_ == Progress::automatic) mode_ = ::isatty(::fileno(out_)) ? Progress::bar : Progress::lines;
    }

    void start_epoch() {
        epoch_start_ = Clock::now();
        last_draw_ = epoch_start_ - std::chrono::seconds(1);
    }

    void batch(std::size_t epoch, std::size_t done, double loss, double accuracy) {
        if (mode_ != Progress::bar) return;
        const Clock::time_point now = Clock::now();
        if (done < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
        const std::string remaining = rate > 0 ? duration(static_cast<double>(batches_ - done) / rate) : "?";
        const std::string head = fmt::format("epoch {:>{}}/{} {:>3}%", epoch, digits(epochs_), epochs_,
                                             batches_ ? done * 100 / batches_ : 100);
        const std::string counts =
            fmt::format(" {:>{}}/{} {}<{}", done, digits(batches_), batches_, duration(elapsed), remaining);
        const std::string rate_text = fmt::format(" {:.0f} batch/s", rate);
        std::string metrics = fmt::format(" loss {:.4f}", loss);
        if (!std::isnan(accuracy)) metrics += fmt::format(" acc {:.4f}", accuracy);
        // The width is read at every redraw, so a resized terminal gets lines of its new width. The last column
        // stays free: writing it makes some terminals wrap, and every redraw would then add a line. A narrow
        // terminal loses the rate first, then the bar, then the end of the line.
        const std::size_t width = terminal_columns(out_) - 1, brackets = 3;
        const std::size_t fixed = head.size() + counts.size() + metrics.size();
        const bool show_rate = fixed + rate_text.size() + brackets + min_bar <= width;
        const std::size_t used = fixed + (show_rate ? rate_text.size() : 0);
        std::string line = head;
        if (used + brackets + min_bar <= width) {
            const std::size_t bar = std::min(width - used - brackets, max_bar);
            const std::size_t filled = batches_ ? done * bar / batches_ : bar;
            line += fmt::format(" [{}{}]", std::string(filled, '#'), std::string(bar - filled, '.'));
        }
        line += counts + (show_rate ? rate_text : "") + metrics;
        if (line.size() > width) line.resize(width);
        fmt::print(out_, "\r{}\x1b[K", line);
        std::fflush(out_);
    }

    // The history's last record, its validation set named by the history, as in its CSV columns.
    void epoch(const History& history) {
        if (mode_ == Progress::none) return;
        const EpochRecord& r = history.epochs.back();
        const std::string& validation = history.validation_name;
        std::string line = fmt::format("epoch {:>{}}/{}  lr {:.4g}  loss {:.4f}", r.epoch, digits(epochs_), epochs_,
                                       r.lr, r.train_loss);
        if (!std::isnan(r.train_accuracy)) line += fmt::format("  acc {:.4f}", r.train_accuracy);
        if (!std::isnan(r.validation_loss)) line += fmt::format("  {}_loss {:.4f}", validation, r.validation_loss);
        if (!std::isnan(r.validation_accuracy))
            line += fmt::format("  {}_acc {:.4f}", validation, r.validation_accuracy);
        line += fmt::format("  {:.2f} s", r.seconds);
        if (history.interrupted) line += fmt::format("  (interrupted after batch {}/{})", r.batches, batches_);
        if (mode_ == Progress::bar)  // each line cleared to its end: the bar it replaces may be longer
            fmt::print(out_, "\r{}\x1b[K\n", wrapped(line, terminal_columns(out_) - 1, "\x1b[K\n"));
        else
            fmt::print(out_, "{}\n", line);
        std::fflush(out_);
    }

    void note(const std::string& text) {
        if (mode_ != Progress::none) fmt::print(out_, "{}\n", text);
    }

private:
    static int digits(std::size_t n) { return static_cast<int>(std::to_string(n).size()); }
    // The line broken between its fields (separated by two spaces) into lines of at most `width` columns joined by
    // `newline`, the later ones indented, so a narrow terminal never splits a number.
    static std::string wrapped(const std::string& line, std::size_t width, const std::string& newline) {
        if (line.size() <= width) return line;
        std::string out, current;
        std::size_t start = 0;
        while (start < line.size()) {
            const std::size_t end = std::min(line.find("  ", start), line.size());
            const std::string field = line.substr(start, end - start);
            if (!current.empty() && current.size() + 2 + field.size() > width) {
                out += current + newline;
                current = "   ";
            }
            current += (current.empty() || current == "   " ? "" : "  ") + field;
            start = end == line.size() ? end : line.find_first_not_of(' ', end);
        }
        return out + current;
    }
    static constexpr std::size_t min_bar = 10, max_bar = 40;

    std::FILE* out_;
    Progress mode_;
    std::size_t epochs_, batches_;
    Clock::time_point epoch_start_, last_draw_;
};

}  // namespace

// History ---------------------------------------------------------------------------------------------------------

std::string History::csv() const {
    std::string out =
        fmt::format("epoch,lr,train_loss,train_accuracy,{0}_loss,{0}_accuracy,seconds,batches\n", validation_name);
    for (const EpochRecord& r : epochs)
        out += fmt::format("{},{},{},{},{},{},{:.3f},{}\n", r.epoch, csv_field(r.lr), csv_field(r.train_loss),
                           csv_field(r.train_accuracy), csv_field(r.validation_loss), csv_field(r.validation_accuracy),
                           r.seconds, r.batches);
    return out;
}

void History::save_csv(const std::string& path) const { write_file("History::save_csv", path, csv()); }

// Losses and evaluation -------------------------------------------------------------------------------------------

Var default_loss(const Var& output, const data::Batch& batch) {
    if (!batch.labels.empty()) {
        if (output.dim() == 2 && output.shape()[1] == 1) {
            xt::xarray<float> targets = xt::xarray<float>::from_shape({batch.labels.size(), 1});
            for (std::size_t i = 0; i < batch.labels.size(); ++i) targets(i, 0) = static_cast<float>(batch.labels[i]);
            return binary_cross_entropy_with_logits(output, Var(std::move(targets)).to(output.dtype()));
        }
        return softmax_cross_entropy(output, batch.labels);
    }
    if (!batch.targets.defined())
        throw Error("default_loss: the batch has neither labels nor targets");
    return mse(output, batch.targets.to(output.dtype()));
}

namespace {

// Whether the model's forward may run on several threads at once: only for xgrad's own modules, which in training
// read nothing but their parameters (BatchNorm's running statistics and Dropout's generator are written there) and in
// eval mode read nothing else at all. A user's module may hold any state.
bool forward_runs_on_threads(nn::Module& model, bool training) {
    for (const auto& [name, module] : model.named_modules()) {
        const bool stateless = dynamic_cast<nn::Sequential*>(module) || dynamic_cast<nn::Linear*>(module) ||
                               dynamic_cast<nn::ReLU*>(module) || dynamic_cast<nn::LeakyReLU*>(module) ||
                               dynamic_cast<nn::Sigmoid*>(module) || dynamic_cast<nn::Tanh*>(module) ||
                               dynamic_cast<nn::Softmax*>(module) || dynamic_cast<nn::Flatten*>(module) ||
                               dynamic_cast<nn::Conv2d*>(module) || dynamic_cast<nn::MaxPool2d*>(module) ||
                               dynamic_cast<nn::AvgPool2d*>(module) || dynamic_cast<nn::AdaptiveAvgPool2d*>(module);
        const bool reads_only_in_eval = dynamic_cast<nn::Dropout*>(module) || dynamic_cast<nn::BatchNorm1d*>(module);
        if (!stateless && (training || !reads_only_in_eval)) return false;
    }
    return true;
}

// Rows [begin, end) of a batch or a dataset copied into `part`, whose arrays are reused while nothing else holds them.
const xt::xarray<float>& rows_of(const Var& rows) { return rows.value<float>(); }
const xt::xarray<float>& rows_of(const xt::xarray<float>& rows) { return rows; }
bool has_rows(const Var& rows) { return rows.defined(); }
bool has_rows(const xt::xarray<float>& rows) { return rows.dimension() != 0; }

template <class Rows>
void copy_rows(const Rows& from, std::size_t begin, std::size_t end, data::Batch& part) {
    const auto copy = [&](const xt::xarray<float>& source_rows, Var& to) {
        const std::size_t width = data::row_size(source_rows);
        const float* source = source_rows.data() + begin * width;
        std::copy(source, source + (end - begin) * width,
                  data::reuse_or_allocate(to, data::with_rows(source_rows.shape(), end - begin)));
    };
    copy(rows_of(from.inputs), part.inputs);
    if (has_rows(from.targets)) copy(rows_of(from.targets), part.targets);
    part.labels.assign(from.labels.begin() + static_cast<std::ptrdiff_t>(std::min(begin, from.labels.size())),
                       from.labels.begin() + static_cast<std::ptrdiff_t>(std::min(end, from.labels.size())));
}

// The number of batches of `batch_size` rows in `data`, which must have rows.
std::size_t batch_count(const char* op, const data::Dataset& data, std::size_t batch_size) {
    // A mean over no rows would be NaN, which reads like a diverged model.
    if (data.size() == 0) throw DataError(fmt::format("{}: the dataset is empty", op));
    if (batch_size == 0) throw DataError(fmt::format("{}: batch_size must be positive", op));
    data::check_same_rows(op, data);
    return (data.size() + batch_size - 1) / batch_size;
}

// Runs score(batch index, batch) for batches [first, end) of `batch_size` consecutive rows of `data`, in eval mode
// without recording. When the model may run on threads and `score` is safe to call from them, each thread takes a run
// of consecutive batches, copying its rows into its own cache and running whole forwards there; a batch is computed
// the same way on any thread, so the results are the one-thread ones bit for bit.
template <class Score>
void score_batches(nn::Module& model, const data::Dataset& data, std::size_t batch_size, std::size_t first,
                   std::size_t end, bool score_runs_on_threads, const Score& score) {
    if (first == end) return;
    ModeGuard mode(model);
    model.eval();
    const std::size_t batches = end - first;
    const std::size_t parts =
        score_runs_on_threads && forward_runs_on_threads(model, false)
            ? std::min(batches, static_cast<std::size_t>(num_threads()))
            : 1;
    const Dtype dtype = input_dtype(model);
    const auto score_part = [&](std::size_t part) {
        NoGradGuard no_grad;  // the mode is the thread's own
        data::Batch batch;
        for (std::size_t b = first + batches * part / parts; b < first + batches * (part + 1) / parts; ++b) {
            copy_rows(data, b * batch_size, std::min(data.size(), (b + 1) * batch_size), batch);
            score(b, model(batch.inputs.to(dtype)), batch);
        }
    };
    // One part runs outside the pool, where a large matrix product still splits its rows over the threads.
    if (parts == 1)
        score_part(0);
    else
        thread_pool().run(parts, std::ref(score_part));
}

}  // namespace

Var predict(nn::Module& model, const data::Dataset& data, std::size_t batch_size) {
    std::vector<Var> outputs(batch_count("predict", data, batch_size));
    score_batches(model, data, batch_size, 0, outputs.size(), true,
                  [&](std::size_t b, const Var& output, const data::Batch&) { outputs[b] = output; });
    return outputs.size() == 1 ? outputs.front() : concat(outputs, 0);
}

namespace {

// The processes fit runs on: this one alone, or a group's.
struct Processes {
    ProcessGroup* group;
    std::size_t rank, size;
    explicit Processes(ProcessGroup* g) : group(g), rank(g ? g->rank() : 0), size(g ? g->size() : 1) {}
    bool leader() const { return rank == 0; }
    void sum(std::vector<double>& values) const {
        if (group) group->sum(values);
    }
    // Whether `condition` holds on any process.
    bool any(bool condition) const {
        std::vector<double> count{condition ? 1.0 : 0.0};
        sum(count);
        return count[0] > 0.0;
    }
};

// Runs `action` on every process, making a failure on any process everyone's: each throws, the failing one its own
// error, so that none is left waiting in a collective for a process that gave up.
void together(const Processes& processes, const std::function<void()>& action, const std::string& failed_elsewhere) {
    std::exception_ptr failure;
    try {
        action();
    } catch (...) {
        failure = std::current_exception();
    }
    if (processes.any(failure != nullptr)) {
        if (failure) std::rethrow_exception(failure);
        throw Error(failed_elsewhere);
    }
}

// Files are process 0's to write: `write` runs there alone, and its failure is every process's, as in together.
void write_on_leader(const Processes& processes, const char* file, const std::function<void()>& write) {
    together(processes, [&] { if (processes.leader()) write(); },
             fmt::format("fit: process 0 could not write the {}; its error says why", file));
}

// The mean loss and accuracy over `data`, each process scoring its own run of the batches.
Evaluation evaluate_on(const Processes& processes, nn::Module& model, const data::Dataset& data,
                       const LossFunction& loss, std::size_t batch_size) {
    const std::size_t batches = batch_count("evaluate", data, batch_size);
    const std::size_t first = batches * processes.rank / processes.size;
    const std::size_t end = batches * (processes.rank + 1) / processes.size;
    std::vector<double> totals(end - first);
    std::vector<std::size_t> correct(end - first);
    // A user's loss may hold state, so it runs on the calling thread only.
    score_batches(model, data, batch_size, first, end, !loss,
                  [&](std::size_t b, const Var& output, const data::Batch& batch) {
                      totals[b - first] = (loss ? loss(output, batch) : default_loss(output, batch)).item() *
                                          static_cast<double>(batch.size());
                      if (data.is_classification()) correct[b - first] = metrics::correct(output, batch.labels);
                  });
    std::vector<double> sums{0.0, 0.0};  // loss × rows, correct predictions
    for (std::size_t b = 0; b < totals.size(); ++b) {
        sums[0] += totals[b];
        sums[1] += static_cast<double>(correct[b]);
    }
    processes.sum(sums);
    const auto n = static_cast<double>(data.size());
    return {sums[0] / n, data.is_classification() ? sums[1] / n : not_measured};
}

}  // namespace

Evaluation evaluate(nn::Module& model, const data::Dataset& data, const LossFunction& loss, std::size_t batch_size) {
    return evaluate_on(Processes(nullptr), model, data, loss, batch_size);
}

// fit ---------------------------------------------------------------------------------------------------------------

namespace {

// How many threads share a batch of `rows` rows: each part must have enough work to pay for handing it over.
std::size_t parallel_parts(std::size_t rows, std::size_t parameters) {
    constexpr std::size_t least_multiply_adds = 250'000;  // per part: a few microseconds of matrix products
    return std::clamp<std::size_t>(rows * parameters / least_multiply_adds, 1,
                                   static_cast<std::size_t>(num_threads()));
}

// The model's parameters and buffers, the state restore_best puts back.
std::vector<Var> model_state(const nn::Module& model) {
    std::vector<Var> state = model.parameters();
    for (const auto& [name, buffer] : model.named_buffers()) state.push_back(buffer);
    return state;
}

}  // namespace

History fit(nn::Module& model, optim::Optimizer& optimizer, const data::Dataset& train, FitOptions options) {
    // A NaN or negative l2 would surface epochs later as a NaN loss blamed on the learning rate.
    require_non_negative("fit", "l2", options.l2);
    require_non_negative("fit", "min_delta", options.min_delta);
    if (options.evaluation_batch_size == 0) throw Error("fit: evaluation_batch_size must be positive");
    if (options.accumulate_grad_batches == 0) throw Error("fit: accumulate_grad_batches must be at least 1");
    const std::size_t accumulate = options.accumulate_grad_batches;
    const Processes processes(options.process_group);
    if (processes.group) {
        if (options.loader.shards != 1 || options.loader.shard != 0)
            throw Error("fit: with a process_group, the group deals the shares; leave loader.shards and "
                        "loader.shard at 1 and 0");
        options.loader.shards = processes.size;
        options.loader.shard = processes.rank;
    }
    // mpirun relays each process's output, through a terminal of its own whose redraws arrive as new lines.
    if (processes.group && options.progress == Progress::automatic) options.progress = Progress::lines;
    if (!processes.leader()) options.progress = Progress::none;
    data::DataLoader loader(train, options.loader);
    if (loader.size() == 0)
        throw Error(fmt::format("fit: {} training rows make no batch of {}", train.size(),
                                options.loader.batch_size));
    const LossFunction loss_of = options.loss ? options.loss : LossFunction(default_loss);
    const std::vector<Var> parameters = model.parameters();
    const Dtype dtype = input_dtype(model);
    std::size_t parameter_count = 0;
    for (const Var& p : parameters) parameter_count += p.size();
    // Only the default loss, a mean over rows, gives parts that weighted by their rows sum to the whole batch's.
    const bool split = !options.loss && num_threads() > 1 && forward_runs_on_threads(model, true);
    // What each part of a split batch uses, kept from batch to batch.
    const auto threads = static_cast<std::size_t>(num_threads());
    std::vector<data::Batch> part_batches(threads);
    std::vector<double> part_losses(threads);
    std::vector<std::size_t> part_correct(threads);

    History history;
    history.validation_name = options.validation_name;
    const auto save_history = [&] {
        if (!options.history_csv.empty())
            write_on_leader(processes, "history", [&] { history.save_csv(options.history_csv); });
    };
    // The CSV starts as its header, as Keras's CSVLogger does: a path that cannot be written fails here, before any
    // training, not after the first epoch with its history lost.
    save_history();
    std::size_t first_epoch = 1;
    if (!options.resume_from.empty())
        together(processes,
                 [&] {
                     first_epoch = load_fit_checkpoint(options.resume_from, model, optimizer, options.scheduler) + 1;
                 },
                 fmt::format("fit: another process could not resume from '{}'; its error says why",
                             options.resume_from));
    // A resumed run draws the orders of the epochs it skips, so its batches are those of an uninterrupted run.
    if (options.loader.shuffle)
        for (std::size_t epoch = 1; epoch < first_epoch; ++epoch) loader.begin();
    if (processes.group) processes.group->broadcast(model_state(model));
    std::vector<Var> buffers;
    for (const auto& [name, buffer] : model.named_buffers()) buffers.push_back(buffer);
    Display display(options, loader.size());
    if (first_epoch > options.epochs)
        display.note(fmt::format("nothing to train: '{}' has finished {} of the {} epochs", options.resume_from,
                                 first_epoch - 1, options.epochs));
    InterruptGuard interrupt;
    double best = std::numeric_limits<double>::infinity();  // for patience, which counts only min_delta gains
    std::size_t epochs_without_improvement = 0;
    double lowest = std::numeric_limits<double>::infinity();
    const std::string watched_set = options.validation ? history.validation_name : "train";
    std::vector<Var> state = options.restore_best ? model_state(model) : std::vector<Var>{};
    std::vector<Var> best_state;

    for (std::size_t epoch = first_epoch; epoch <= options.epochs && !history.interrupted; ++epoch) {
        const Clock::time_point start = Clock::now();
        display.start_epoch();
        model.train();
        EpochRecord record;
        record.epoch = epoch;
        double loss_sum = 0.0;
        std::size_t rows = 0, correct = 0, batch_index = 0;
        for (const data::Batch& batch : loader) {
            // Accumulating: each batch adds 1/k of its gradient, so k batches step once with their mean gradient.
            if (batch_index % accumulate == 0) optimizer.zero_grad();
            const double scale = 1.0 / static_cast<double>(accumulate);
            const std::size_t parts = split ? parallel_parts(batch.size(), parameter_count) : 1;
            double value = 0.0;
            std::size_t batch_correct = 0;
            if (parts == 1) {
                const Var output = model(batch.inputs.to(dtype));
                Var loss = loss_of(output, batch);
                if (options.l2 > 0.0) loss = loss + l2_penalty(parameters, options.l2);
                (accumulate > 1 ? loss * scale : loss).backward();
                value = loss.item();
                if (train.is_classification()) batch_correct = metrics::correct(output, batch.labels);
            } else {
                // Each part's mean loss weighted by its share of the rows: the parts' gradients add up to the batch's.
                const auto train_part = [&](std::size_t part) {
                    const std::size_t begin = batch.size() * part / parts, end = batch.size() * (part + 1) / parts;
                    copy_rows(batch, begin, end, part_batches[part]);
                    const Var output = model(part_batches[part].inputs.to(dtype));
                    const Var loss = default_loss(output, part_batches[part]);
                    const double weight = static_cast<double>(end - begin) / static_cast<double>(batch.size());
                    (loss * (weight * scale)).backward();
                    part_losses[part] = weight * loss.item();
                    part_correct[part] =
                        train.is_classification() ? metrics::correct(output, part_batches[part].labels) : 0;
                };
                // By reference: a std::function holding the lambda itself would allocate every batch.
                parallel_backward(parts, std::ref(train_part));
                for (std::size_t part = 0; part < parts; ++part) {
                    value += part_losses[part];
                    batch_correct += part_correct[part];
                }
                if (options.l2 > 0.0) {
                    const Var penalty = l2_penalty(parameters, options.l2);
                    (accumulate > 1 ? penalty * scale : penalty).backward();
                    value += penalty.item();
                }
            }
            auto batch_rows = static_cast<double>(batch.size());
            bool interrupted_in_group = false;
            if (processes.group) {
                // The whole group's batch: its loss (a non-finite one on any process makes the sum so), accuracy, and
                // whether a Ctrl-C has reached any process, in one exchange; a Ctrl-C during this batch's callback is
                // then heard with the next batch's.
                std::vector<double> sums{value * batch_rows, batch_rows, static_cast<double>(batch_correct),
                                         interrupt_requested.load(std::memory_order_relaxed) ? 1.0 : 0.0};
                processes.group->sum(sums);
                value = sums[0] / sums[1];
                batch_rows = sums[1];
                batch_correct = static_cast<std::size_t>(sums[2]);
                interrupted_in_group = sums[3] > 0.0;
            }
            if (!std::isfinite(value))
                throw Error(fmt::format("fit: the loss of epoch {} batch {}/{} is {}; lower the learning rate (now {})",
                                        epoch, batch_index + 1, loader.size(), number_text(value), optimizer.lr()));
            if ((batch_index + 1) % accumulate == 0 || batch_index + 1 == loader.size()) {
                if (processes.group) processes.group->average_gradients(parameters);
                optimizer.step();
                if (options.scheduler && options.scheduler_per_batch) options.scheduler->step();
            }
            record.lr = optimizer.lr();

            loss_sum += value * batch_rows;
            rows += static_cast<std::size_t>(batch_rows);
            correct += batch_correct;
            ++batch_index;
            record.batches = batch_index;
            const double running_accuracy =
                train.is_classification() ? static_cast<double>(correct) / static_cast<double>(rows) : not_measured;
            display.batch(epoch, batch_index, loss_sum / static_cast<double>(rows), running_accuracy);
            if (options.on_batch_end) options.on_batch_end({epoch, batch_index - 1, loader.size(), value, batch});
            if (processes.group ? interrupted_in_group : interrupt_requested.load(std::memory_order_relaxed)) {
                history.interrupted = true;
                break;
            }
        }
        record.train_loss = loss_sum / static_cast<double>(rows);
        record.train_accuracy =
            train.is_classification() ? static_cast<double>(correct) / static_cast<double>(rows) : not_measured;
        record.validation_loss = record.validation_accuracy = not_measured;
        if (processes.group && !buffers.empty()) processes.group->broadcast(buffers);
        // An interrupted epoch is evaluated like the others: the model it leaves is the one the program goes on to
        // use, and its row must not mix running means with whole-set measures.
        if (options.evaluate_train) {
            const Evaluation e = evaluate_on(processes, model, train, options.loss, options.evaluation_batch_size);
            record.train_loss = e.loss;
            record.train_accuracy = e.accuracy;
        }
        if (options.validation) {
            const Evaluation e =
                evaluate_on(processes, model, *options.validation, options.loss, options.evaluation_batch_size);
            record.validation_loss = e.loss;
            record.validation_accuracy = e.accuracy;
        }
        if (!history.interrupted) {
            if (options.scheduler && !options.scheduler_per_batch) options.scheduler->step();
            if (options.reduce_lr_on_plateau)
                options.reduce_lr_on_plateau->step(options.validation ? record.validation_loss : record.train_loss);
        }
        record.seconds = seconds_since(start);
        history.epochs.push_back(record);
        display.epoch(history);
        save_history();
        if (!history.interrupted && !options.checkpoint.empty())
            write_on_leader(processes, "checkpoint", [&] {
                save_fit_checkpoint(options.checkpoint, model, optimizer, options.scheduler, epoch);
            });
        if (history.interrupted) {
            display.note("interrupted: stopped after the current batch");
            break;
        }

        const double watched = options.validation ? record.validation_loss : record.train_loss;
        if (watched < lowest) {
            lowest = watched;
            history.best_epoch = epoch;
            if (options.restore_best) {
                best_state.clear();
                for (const Var& v : state) best_state.push_back(v.detach());
            }
        }
        if (options.on_epoch_end && processes.any(!options.on_epoch_end(record))) break;
        if (options.patience > 0) {
            if (watched < best - options.min_delta) {
                best = watched;
                epochs_without_improvement = 0;
            } else if (++epochs_without_improvement >= options.patience) {
                history.stopped_early = true;
                display.note(fmt::format("early stopping: no improvement of the {} loss for {} epochs", watched_set,
                                         options.patience));
                break;
            }
        }
    }
    if (!best_state.empty()) {
        for (std::size_t i = 0; i < state.size(); ++i) state[i].copy_from(best_state[i]);
        display.note(
            fmt::format("restored the weights of epoch {}, the lowest {} loss", history.best_epoch, watched_set));
    }
    return history;
}

}  // namespace xg
