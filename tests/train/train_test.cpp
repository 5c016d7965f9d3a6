// fit, evaluate and predict: short runs on synthetic data that must reach a stated accuracy, the history and its
// CSV, the L2 penalty, schedules, early stopping, callbacks, the progress display and Ctrl-C.
#include "check.hpp"

#include <csignal>
#include <sys/stat.h>
#include <fstream>
#include <sstream>

using xg::Var;
namespace data = xg::data;
namespace nn = xg::nn;
namespace optim = xg::optim;
using check::TempDir;

namespace {

std::shared_ptr<nn::Sequential> mlp(std::size_t in, std::size_t hidden, std::size_t out, std::uint64_t seed) {
    xg::Generator g(seed);
    return std::make_shared<nn::Sequential>(nn::Linear(in, hidden, g), nn::ReLU(), nn::Linear(hidden, hidden, g),
                                            nn::ReLU(), nn::Linear(hidden, out, g));
}

xg::FitOptions quiet(std::size_t epochs, std::size_t batch_size = 32) {
    xg::FitOptions o;
    o.epochs = epochs;
    o.loader.batch_size = batch_size;
    o.progress = xg::Progress::none;
    return o;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::string captured(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    for (int c; (c = std::fgetc(f)) != EOF;) out += static_cast<char>(c);
    return out;
}

// fit with its progress display written to a file: the history and what was written.
std::pair<xg::History, std::string> fit_showing(nn::Module& model, optim::Optimizer& optimizer,
                                                const data::Dataset& train, xg::FitOptions options,
                                                xg::Progress progress = xg::Progress::lines) {
    std::FILE* out = std::tmpfile();
    options.output = out;
    options.progress = progress;
    xg::History history = xg::fit(model, optimizer, train, options);
    std::string text = captured(out);
    std::fclose(out);
    return {std::move(history), std::move(text)};
}

}  // namespace

TEST_CASE("fit learns three spirals to 95% training accuracy and two moons to 95% validation accuracy") {
    xg::Generator g(1);
    const data::Dataset spirals = data::make_spirals(100, 3, g, 0.1);
    auto model = mlp(2, 32, 3, 2);
    optim::Adam adam(model->parameters(), {.lr = 0.01});
    xg::FitOptions options = quiet(150);
    options.loader.seed = 3;
    const xg::History history = xg::fit(*model, adam, spirals, options);
    REQUIRE(history.epochs.size() == 150);
    CHECK(history.epochs.back().train_accuracy >= 0.95);
    CHECK(history.epochs.back().train_loss < history.epochs.front().train_loss / 4);
    CHECK(xg::evaluate(*model, spirals).accuracy >= 0.95);

    // One logit per row: fit picks binary cross-entropy with logits.
    const data::Split moons = data::random_split(data::make_moons(500, g, 0.15), 0.2, g);
    auto binary = mlp(2, 16, 1, 4);
    optim::Adam adam2(binary->parameters(), {.lr = 0.01});
    xg::FitOptions moon_options = quiet(60);
    moon_options.validation = &moons.test;
    const xg::History moon_history = xg::fit(*binary, adam2, moons.train, moon_options);
    CHECK(moon_history.epochs.back().validation_accuracy >= 0.95);
    const xg::Evaluation e = xg::evaluate(*binary, moons.test);
    CHECK(e.accuracy == moon_history.epochs.back().validation_accuracy);
    CHECK(e.loss == doctest::Approx(moon_history.epochs.back().validation_loss));
}

TEST_CASE("evaluate and predict agree with the ops computed by hand") {
    xg::Generator g(5);
    const data::Dataset blobs = data::make_blobs(250, 4, 3, g);  // 250 rows: batches of 100, 100, 50
    auto model = mlp(3, 8, 4, 6);
    model->train();
    const Var outputs = xg::predict(*model, blobs, 100);
    CHECK(model->is_training());  // mode restored
    CHECK(outputs.shape() == xg::Shape{250, 4});
    const Var whole = [&] {
        xg::NoGradGuard no_grad;
        return (*model)(Var(blobs.inputs));
    }();
    CHECK(xt::allclose(outputs.value<float>(), whole.value<float>()));
    const xg::Evaluation e = xg::evaluate(*model, blobs, {}, 100);
    CHECK(e.loss == doctest::Approx(xg::softmax_cross_entropy(whole, blobs.labels).item()).epsilon(1e-5));
    CHECK(e.accuracy == xg::metrics::accuracy(whole, blobs.labels));

    // Regression: mean squared error, accuracy not measured.
    const data::Dataset sine = data::make_sine(64, g);
    auto regressor = mlp(1, 8, 1, 7);
    const xg::Evaluation r = xg::evaluate(*regressor, sine, {}, 10);
    const Var fitted = xg::predict(*regressor, sine);
    CHECK(r.loss == doctest::Approx(xg::mse(fitted, Var(sine.targets)).item()).epsilon(1e-5));
    CHECK(std::isnan(r.accuracy));
}

TEST_CASE("a history_csv that cannot be written fails before training; the header is there from the start") {
    TempDir dir;
    xg::Generator g(8);
    const data::Dataset sine = data::make_sine(40, g);
    auto model = mlp(1, 4, 1, 9);
    const xt::xarray<float> initial = model->parameters().front().value<float>();
    optim::SGD sgd(model->parameters(), {.lr = 0.05});
    xg::FitOptions options = quiet(2, 20);
    options.history_csv = dir / "missing/history.csv";
    std::size_t batches = 0;
    options.on_batch_end = [&](const xg::BatchEnd&) { ++batches; };
    CHECK(check::error_message([&] { xg::fit(*model, sgd, sine, options); }) ==
          "History::save_csv: '" + options.history_csv +
              "': cannot create a temporary file next to it: No such file or directory");
    CHECK(batches == 0);
    CHECK(model->parameters().front().value<float>() == initial);

    options.history_csv = dir / "history.csv";
    std::string during_first_epoch;
    options.on_batch_end = [&](const xg::BatchEnd& b) {
        if (b.epoch == 1 && b.batch == 0) during_first_epoch = read(options.history_csv);
    };
    xg::fit(*model, sgd, sine, options);
    CHECK(during_first_epoch == "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,batches\n");
    const std::string csv = read(options.history_csv);
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
}

TEST_CASE("the history's CSV: one line per epoch, empty fields for what was not measured") {
    TempDir dir;
    xg::Generator g(8);
    const data::Dataset sine = data::make_sine(100, g);
    auto model = mlp(1, 16, 1, 9);
    optim::SGD sgd(model->parameters(), {.lr = 0.05});
    xg::FitOptions options = quiet(3, 20);
    options.history_csv = dir / "history.csv";
    const xg::History history = xg::fit(*model, sgd, sine, options);
    std::istringstream lines(read(dir / "history.csv"));
    std::string line;
    std::getline(lines, line);
    CHECK(line == "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds,batches");
    for (std::size_t epoch = 1; epoch <= 3; ++epoch) {
        std::getline(lines, line);
        CHECK(line.starts_with(fmt::format("{},0.05,{:.6g},,,,", epoch, history.epochs[epoch - 1].train_loss)));
        CHECK(line.ends_with(",5"));
        CHECK(history.epochs[epoch - 1].batches == 5);
    }
    CHECK(!std::getline(lines, line));
    CHECK(check::TempDir().files().empty());
    CHECK(dir.files() == std::vector<std::string>{"history.csv"});  // no temporary file left behind
    // The permissions a plain new file gets, not the temporary file's 0600.
    const mode_t mask = umask(0);
    umask(mask);
    struct stat written {};
    REQUIRE(stat((dir / "history.csv").c_str(), &written) == 0);
    CHECK((written.st_mode & 0777) == (0666 & ~mask));
    CHECK_THROWS_WITH_AS(history.save_csv(dir / "missing/history.csv"),
                         ("History::save_csv: '" + (dir / "missing/history.csv") +
                          "': cannot create a temporary file next to it: No such file or directory")
                             .c_str(),
                         xg::Error);
}

TEST_CASE("the L2 penalty is added to every batch's loss") {
    xg::Generator g(10);
    const data::Dataset blobs = data::make_blobs(64, 3, 2, g);
    auto model = mlp(2, 8, 3, 11);
    // With a zero rate nothing moves, so the two runs see the same parameters and batches.
    optim::SGD frozen(model->parameters(), {.lr = 0.0});
    const double plain = xg::fit(*model, frozen, blobs, quiet(1, 16)).epochs[0].train_loss;
    xg::FitOptions options = quiet(1, 16);
    options.l2 = 0.1;
    const double penalized = xg::fit(*model, frozen, blobs, options).epochs[0].train_loss;
    CHECK(penalized - plain == doctest::Approx(xg::l2_penalty(model->parameters(), 0.1).item()).epsilon(1e-4));
}

TEST_CASE("schedules step per epoch or per batch; the record shows each epoch's rate") {
    xg::Generator g(12);
    const data::Dataset blobs = data::make_blobs(40, 2, 2, g);
    auto model = mlp(2, 4, 2, 13);
    optim::SGD sgd(model->parameters(), {.lr = 0.1});
    optim::StepLR per_epoch(sgd, 1, 0.5);
    xg::FitOptions options = quiet(3, 10);
    options.scheduler = &per_epoch;
    const xg::History h = xg::fit(*model, sgd, blobs, options);
    CHECK(h.epochs[0].lr == doctest::Approx(0.1));
    CHECK(h.epochs[2].lr == doctest::Approx(0.025));
    CHECK(sgd.lr() == doctest::Approx(0.0125));

    optim::SGD sgd2(model->parameters(), {.lr = 0.1});
    optim::ExponentialLR per_batch(sgd2, 0.9);
    options.scheduler = &per_batch;
    options.scheduler_per_batch = true;
    xg::fit(*model, sgd2, blobs, options);
    CHECK(per_batch.steps() == 12);  // 4 batches × 3 epochs
    CHECK(sgd2.lr() == doctest::Approx(0.1 * std::pow(0.9, 12)));
}

TEST_CASE("restore_best puts back the weights of the epoch with the lowest validation loss") {
    xg::Generator g(21);
    const data::Split split = data::random_split(data::make_blobs(200, 2, 2, g), 0.2, g);
    // Training improves the model for two epochs; then a jolt to every weight after epoch 2 makes epochs 3 and 4
    // worse than epoch 2 (a small rate cannot undo it), so the best epoch is 2 and not the last.
    const auto run = [&](bool restore_best) {
        auto model = mlp(2, 8, 2, 22);
        optim::SGD sgd(model->parameters(), {.lr = 0.1});
        xg::FitOptions options = quiet(4, 20);
        options.validation = &split.test;
        options.restore_best = restore_best;
        options.on_epoch_end = [&](const xg::EpochRecord& r) {
            if (r.epoch == 2) {
                xg::NoGradGuard no_grad;
                for (Var& p : model->parameters()) p.mutable_value<float>() += 3.0f;
                sgd.param_groups()[0].lr = 1e-4;
            }
            return true;
        };
        const xg::History history = xg::fit(*model, sgd, split.train, options);
        return std::pair{history, xg::evaluate(*model, split.test).loss};
    };
    const auto [kept, last_loss] = run(false);
    REQUIRE(kept.epochs.size() == 4);
    CHECK(kept.best_epoch == 2);
    CHECK(kept.epochs[1].validation_loss < kept.epochs[0].validation_loss);
    CHECK(kept.epochs[2].validation_loss > kept.epochs[1].validation_loss);
    CHECK(last_loss == kept.epochs[3].validation_loss);

    const auto [restored, restored_loss] = run(true);
    CHECK(restored.best_epoch == 2);
    CHECK(restored_loss == restored.epochs[1].validation_loss);
}

TEST_CASE("early stopping, callbacks and reproducibility") {
    xg::Generator g(14);
    const data::Split split = data::random_split(data::make_blobs(100, 2, 2, g), 0.2, g);
    auto model = mlp(2, 4, 2, 15);
    optim::SGD frozen(model->parameters(), {.lr = 0.0});
    xg::FitOptions options = quiet(20, 10);
    options.validation = &split.test;
    options.patience = 3;
    std::size_t batch_calls = 0;
    options.on_batch_end = [&](const xg::BatchEnd& b) {
        CHECK(b.batches == 8);
        CHECK(b.data.size() == 10);
        ++batch_calls;
    };
    // The validation loss never improves after the first epoch: stop after 1 + patience epochs.
    const xg::History stopped = xg::fit(*model, frozen, split.train, options);
    CHECK(stopped.stopped_early);
    CHECK(stopped.epochs.size() == 4);
    CHECK(batch_calls == 32);

    options.patience = 0;
    options.on_batch_end = nullptr;
    options.on_epoch_end = [](const xg::EpochRecord& r) { return r.epoch < 2; };
    CHECK(xg::fit(*model, frozen, split.train, options).epochs.size() == 2);

    const auto run = [&] {
        auto m = mlp(2, 4, 2, 16);
        optim::SGD sgd(m->parameters(), {.lr = 0.1});
        xg::FitOptions o = quiet(3, 10);
        o.loader.seed = 17;
        std::vector<double> losses;
        for (const xg::EpochRecord& r : xg::fit(*m, sgd, split.train, o).epochs) losses.push_back(r.train_loss);
        return losses;
    };
    CHECK(run() == run());
}

TEST_CASE("Ctrl-C stops after the current batch; the partial epoch is evaluated and the history written") {
    TempDir dir;
    struct sigaction before {};
    sigaction(SIGINT, nullptr, &before);
    xg::Generator g(18);
    const data::Dataset blobs = data::make_blobs(100, 2, 2, g);
    const data::Dataset held_out = data::make_blobs(40, 2, 2, g);
    auto model = mlp(2, 4, 2, 19);
    optim::SGD sgd(model->parameters(), {.lr = 0.1});
    xg::FitOptions options = quiet(10, 10);
    options.history_csv = dir / "history.csv";
    options.validation = &held_out;
    options.evaluate_train = true;
    std::size_t after_signal = 0;
    options.on_batch_end = [&](const xg::BatchEnd& b) {
        if (b.epoch == 2 && b.batch == 3) std::raise(SIGINT);
        if (b.epoch == 2 && b.batch > 3) ++after_signal;
    };
    const auto [h, text] = fit_showing(*model, sgd, blobs, options);
    CHECK(h.interrupted);
    REQUIRE(h.epochs.size() == 2);
    CHECK(h.epochs[1].batches == 4);
    CHECK(after_signal == 0);
    // The row of the interrupted epoch measures the model it left, as the program will go on to use it.
    const xg::Evaluation now = xg::evaluate(*model, held_out);
    CHECK(h.epochs[1].validation_loss == now.loss);
    CHECK(h.epochs[1].validation_accuracy == now.accuracy);
    CHECK(h.epochs[1].train_accuracy == xg::evaluate(*model, blobs).accuracy);
    const std::string csv = read(dir / "history.csv");
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
    CHECK(csv.find(",10\n2,") != std::string::npos);  // epoch 1 trained its 10 batches, epoch 2 follows
    CHECK(csv.ends_with(",4\n"));
    CHECK(text.find(" s  (interrupted after batch 4/10)\ninterrupted: stopped after the current batch\n") !=
          std::string::npos);
    // fit put the previous handler back.
    struct sigaction after {};
    sigaction(SIGINT, nullptr, &after);
    CHECK((after.sa_handler == before.sa_handler));
}

TEST_CASE("validation_name: fit records it in the history, and the progress lines, notes and CSV say it") {
    xg::Generator g(23);
    const data::Split split = data::random_split(data::make_blobs(60, 2, 2, g), 0.5, g);
    auto model = mlp(2, 4, 2, 24);
    optim::SGD frozen(model->parameters(), {.lr = 0.0});
    // Nothing improves after the first epoch, so patience 2 stops after epoch 3 and restore_best goes back to 1.
    const auto run = [&](const data::Dataset* validation) {
        xg::FitOptions options = quiet(10, 10);
        options.loader.shuffle = false;  // the same batches every epoch: the training loss repeats to the bit
        options.validation = validation;
        options.validation_name = "test";
        options.patience = 2;
        options.restore_best = true;
        auto [h, text] = fit_showing(*model, frozen, split.train, options);
        CHECK(h.validation_name == "test");
        CHECK(h.csv().starts_with("epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,batches\n"));
        CHECK(h.epochs.size() == 3);
        CHECK(h.best_epoch == 1);
        return text;
    };
    const std::string watched = run(&split.test);
    CHECK(watched.find("  test_loss ") != std::string::npos);
    CHECK(watched.find(" s\nearly stopping: no improvement of the test loss for 2 epochs\n"
                       "restored the weights of epoch 1, the lowest test loss\n") != std::string::npos);
    const std::string unwatched = run(nullptr);
    CHECK(unwatched.find("test_") == std::string::npos);
    CHECK(unwatched.find(" s\nearly stopping: no improvement of the train loss for 2 epochs\n"
                         "restored the weights of epoch 1, the lowest train loss\n") != std::string::npos);
}

TEST_CASE("progress: one line per epoch, or a live bar") {
    xg::Generator g(20);
    const data::Split split = data::random_split(data::make_blobs(60, 2, 2, g), 0.5, g);
    auto model = mlp(2, 4, 2, 21);
    optim::SGD sgd(model->parameters(), {.lr = 0.1});
    xg::FitOptions options = quiet(2, 10);
    options.validation = &split.test;
    options.validation_name = "test";
    const auto [h, text] = fit_showing(*model, sgd, split.train, options);
    CHECK(text.starts_with(fmt::format("epoch 1/2  lr 0.1  loss {:.4f}  acc {:.4f}  test_loss {:.4f}  test_acc {:.4f}  ",
                                       h.epochs[0].train_loss, h.epochs[0].train_accuracy,
                                       h.epochs[0].validation_loss, h.epochs[0].validation_accuracy)));
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    CHECK(text.find('\r') == std::string::npos);

    const std::string drawn = fit_showing(*model, sgd, split.train, options, xg::Progress::bar).second;
    CHECK(drawn.find("\repoch 1/2 100% [") != std::string::npos);
    CHECK(drawn.find("#] 3/3 0:00<0:00 ") != std::string::npos);
    CHECK(drawn.find(" batch/s loss ") != std::string::npos);
}

TEST_CASE("the progress bar fits the terminal's width: a narrow one loses the rate, then the bar, never wraps") {
    xg::Generator g(20);
    const data::Dataset blobs = data::make_blobs(300, 2, 2, g);
    auto model = mlp(2, 4, 2, 21);
    optim::SGD sgd(model->parameters(), {.lr = 0.1});
    xg::FitOptions options = quiet(1, 10);
    // Not a terminal, so the width comes from $COLUMNS, as it would from the terminal itself.
    const auto redraws = [&](const char* columns) {
        setenv("COLUMNS", columns, 1);
        const std::string text = fit_showing(*model, sgd, blobs, options, xg::Progress::bar).second;
        unsetenv("COLUMNS");
        // What each carriage return starts, without the clear-to-end-of-line codes.
        std::vector<std::string> lines;
        std::size_t start = 0;
        while ((start = text.find('\r', start)) != std::string::npos) {
            const std::size_t end = std::min(text.find('\r', start + 1), text.size());
            std::string drawn = text.substr(start + 1, end - start - 1);
            for (std::size_t at; (at = drawn.find("\x1b[K")) != std::string::npos;) drawn.erase(at, 3);
            lines.push_back(drawn);
            start = end;
        }
        return lines;
    };
    for (const auto& [columns, width] : {std::pair{"120", 119u}, {"70", 69u}, {"50", 49u}, {"30", 29u}}) {
        CAPTURE(columns);
        const std::vector<std::string> lines = redraws(columns);
        REQUIRE(lines.size() >= 2);
        const std::string& bar = lines[lines.size() - 2];  // the last redraw; the epoch's own line follows
        // Every redraw fits; the epoch's closing line (the last) is printed once and may wrap.
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) CHECK(lines[i].size() <= width);
        CHECK(bar.starts_with("epoch 1/1 100%"));
        CHECK((bar.find("batch/s") != std::string::npos) == (width >= 85));
        CHECK((bar.find(" [") != std::string::npos) == (width >= 60));
        // The closing line breaks between fields, never inside a number, indenting what follows.
        std::istringstream closing(lines.back());
        for (std::string part; std::getline(closing, part);) {
            CHECK(part.size() <= width);
            CHECK((part.starts_with("epoch 1/1") || part.starts_with("   ")));
        }
    }
}

TEST_CASE("gradient accumulation: k batches of b rows step like one batch of k·b rows") {
    xg::Generator g(31);
    const data::Dataset blobs = data::make_blobs(60, 3, 2, g);
    const auto trained = [&](std::size_t batch_size, std::size_t accumulate) {
        xg::Generator init(32);
        nn::Sequential model(nn::Linear(2, 5, init, true, xg::Dtype::float64), nn::Tanh(),
                             nn::Linear(5, 3, init, true, xg::Dtype::float64));
        optim::SGD sgd(model.parameters(), {.lr = 0.5});
        xg::FitOptions options = quiet(2, batch_size);
        options.loader.shuffle = false;
        options.accumulate_grad_batches = accumulate;
        const xg::History h = xg::fit(model, sgd, blobs, options);
        CHECK(h.epochs[0].batches == (60 + batch_size - 1) / batch_size);
        return model.parameters();
    };
    const std::vector<Var> whole = trained(20, 1), accumulated = trained(5, 4);
    for (std::size_t i = 0; i < whole.size(); ++i)
        CHECK(xt::allclose(whole[i].value<double>(), accumulated[i].value<double>(), 1e-12, 1e-14));
    // 60 rows in batches of 25: 3 batches, one group of 2 and a last group of 1 that still steps.
    const std::vector<Var> uneven = trained(25, 2);
    CHECK_FALSE(xt::allclose(uneven[0].value<double>(), trained(25, 3)[0].value<double>()));
}

TEST_CASE("fit steps ReduceLROnPlateau with the watched loss after each epoch") {
    xg::Generator g(33);
    const data::Dataset blobs = data::make_blobs(40, 2, 2, g);
    auto model = mlp(2, 4, 2, 34);
    optim::SGD sgd(model->parameters(), {.lr = 0.4});
    // A loss that never improves after epoch 1: with patience 1 the rate halves after epochs 3 and 5.
    optim::ReduceLROnPlateau plateau(sgd, {.factor = 0.5, .patience = 1});
    xg::FitOptions options = quiet(6, 10);
    options.loss = [](const Var& output, const data::Batch&) { return xg::sum(output * 0.0) + 1.0; };
    options.reduce_lr_on_plateau = &plateau;
    const xg::History h = xg::fit(*model, sgd, blobs, options);
    std::vector<double> lrs;
    for (const xg::EpochRecord& r : h.epochs) lrs.push_back(r.lr);
    CHECK(lrs == std::vector<double>{0.4, 0.4, 0.4, 0.2, 0.2, 0.1});
    CHECK(plateau.best() == 1.0);
}

TEST_CASE("a float64 model gets its batches in float64") {
    xg::Generator g(22);
    const data::Dataset blobs = data::make_blobs(90, 3, 2, g);
    nn::Sequential model(nn::Linear(2, 8, g, true, xg::Dtype::float64), nn::Tanh(),
                         nn::Linear(8, 3, g, true, xg::Dtype::float64));
    optim::SGD sgd(model.parameters(), {.lr = 0.1});
    const xg::History h = xg::fit(model, sgd, blobs, quiet(5, 30));
    CHECK(h.epochs.back().train_loss < h.epochs.front().train_loss);
    CHECK(xg::predict(model, blobs).dtype() == xg::Dtype::float64);
}

TEST_CASE("evaluate and predict refuse an empty dataset instead of returning NaN") {
    auto model = mlp(2, 4, 2, 41);
    xg::Generator g(42);
    const data::Dataset empty = data::make_blobs(0, 2, 2, g);
    CHECK(check::error_message<xg::DataError>([&] { xg::evaluate(*model, empty); }) ==
          "evaluate: the dataset is empty");
    CHECK(check::error_message<xg::DataError>([&] { xg::predict(*model, empty); }) ==
          "predict: the dataset is empty");
}

TEST_CASE("fit refuses options that could only fail later under another name") {
    auto model = mlp(2, 4, 2, 43);
    xg::Generator g(44);
    const data::Dataset blobs = data::make_blobs(32, 2, 2, g);
    optim::SGD sgd(model->parameters());
    const auto fit_error = [&](const std::function<void(xg::FitOptions&)>& change) {
        xg::FitOptions options = quiet(1, 16);
        change(options);
        return check::error_message([&] { xg::fit(*model, sgd, blobs, options); });
    };
    CHECK(fit_error([](xg::FitOptions& o) { o.l2 = std::nan(""); }) == "fit: l2 must be a non-negative number, got nan");
    CHECK(fit_error([](xg::FitOptions& o) { o.l2 = -0.1; }) == "fit: l2 must be a non-negative number, got -0.1");
    CHECK(fit_error([](xg::FitOptions& o) { o.min_delta = HUGE_VAL; }) ==
          "fit: min_delta must be a non-negative number, got inf");
    CHECK(fit_error([](xg::FitOptions& o) { o.evaluation_batch_size = 0; }) ==
          "fit: evaluation_batch_size must be positive");
    CHECK(fit_error([](xg::FitOptions& o) { o.accumulate_grad_batches = 0; }) ==
          "fit: accumulate_grad_batches must be at least 1");
    CHECK(fit_error([](xg::FitOptions&) {}) == "no exception of the expected type");
}

TEST_CASE("checkpoint and resume_from: a run stopped after two epochs and resumed ends where three epochs end") {
    TempDir dir;
    xg::Generator g(12);
    const data::Dataset blobs = data::make_blobs(60, 3, 2, g);
    // Adam (state per parameter) with a per-batch schedule: all three must come back for the weights to match.
    const auto run = [&](nn::Module& model, std::size_t epochs, const std::string& checkpoint,
                         const std::string& resume_from) {
        optim::Adam adam(model.parameters(), {.lr = 0.01});
        optim::ExponentialLR schedule(adam, 0.95);
        xg::FitOptions options = quiet(epochs, 16);
        options.scheduler = &schedule;
        options.scheduler_per_batch = true;
        options.checkpoint = checkpoint;
        options.resume_from = resume_from;
        const xg::History history = xg::fit(model, adam, blobs, options);
        return std::pair{history, adam.lr()};
    };
    auto straight = mlp(2, 8, 3, 5);
    const auto [three_epochs, straight_lr] = run(*straight, 3, "", "");
    auto stopped = mlp(2, 8, 3, 5);
    const std::string checkpoint = dir / "run.npz";
    run(*stopped, 2, checkpoint, "");
    auto resumed = mlp(2, 8, 3, 99);  // its own weights are replaced by the checkpoint's
    const auto [third_epoch, resumed_lr] = run(*resumed, 3, checkpoint, checkpoint);
    REQUIRE(third_epoch.epochs.size() == 1);
    CHECK(third_epoch.epochs[0].epoch == 3);
    CHECK(third_epoch.epochs[0].train_loss == three_epochs.epochs[2].train_loss);
    CHECK(resumed_lr == straight_lr);
    const std::vector<xg::Var> a = straight->parameters(), b = resumed->parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].value<float>() == b[i].value<float>());
    // The file now says three epochs; xg::load reads it as any checkpoint.
    CHECK(xg::load_npz(checkpoint).back().first == "fit.epoch");
    CHECK(xg::load_npz(checkpoint).back().second.item() == 3.0);
    auto loaded = mlp(2, 8, 3, 7);
    xg::load(checkpoint, *loaded);
    CHECK(loaded->parameters().front().value<float>() == a.front().value<float>());

    // Nothing left to train.
    std::FILE* out = std::tmpfile();
    optim::SGD sgd(resumed->parameters(), {.lr = 0.1});
    xg::FitOptions done = quiet(3, 16);
    done.resume_from = checkpoint;
    done.progress = xg::Progress::lines;
    done.output = out;
    optim::ExponentialLR schedule(sgd, 0.95);
    done.scheduler = &schedule;
    CHECK(check::error_message([&] { xg::fit(*resumed, sgd, blobs, done); })
              .starts_with("load: '" + checkpoint + "': "));  // an SGD cannot take Adam's state
    optim::Adam adam(resumed->parameters(), {.lr = 0.01});
    optim::ExponentialLR adam_schedule(adam, 0.95);
    done.scheduler = &adam_schedule;
    CHECK(xg::fit(*resumed, adam, blobs, done).epochs.empty());
    CHECK(captured(out) == "nothing to train: '" + checkpoint + "' has finished 3 of the 3 epochs\n");
    std::fclose(out);

    // A checkpoint that xg::save wrote has no epoch count.
    const std::string saved = dir / "saved.npz";
    xg::save(saved, *resumed, adam, adam_schedule);
    done.resume_from = saved;
    CHECK(check::error_message([&] { xg::fit(*resumed, adam, blobs, done); }) ==
          "fit: '" + saved + "' has no entry 'fit.epoch': it is not a checkpoint fit wrote");
}
