// A small network on a 2-D synthetic set (two moons, spirals, blobs or noisy XOR), with everything seed 000's
// chapter on judging a classifier asks for: a held-out 20%, the confusion matrix, precision, recall, F1 and FPR,
// and for two-class sets the ROC curve and its AUC. Early stopping watches the validation loss and the metrics
// are those of the best epoch, whose weights fit puts back. Plots the learning curves, the decision regions with
// the points, and the ROC curve.
#include "sample.hpp"

namespace nn = xg::nn;
namespace data = xg::data;
namespace metrics = xg::metrics;

int run(int argc, char** argv) {
    sample::Flags flags{.epochs = 200, .batch_size = 32, .lr = 0.01, .seed = 0, .data_dir = "", .out = "out/classify_2d"};
    std::string dataset = "moons";
    std::size_t points = 1000;
    double noise = 0.2;
    double cluster_std = 1.8;
    CLI::App app("A 2-32-32-C tanh network on a 2-D synthetic set, with its metrics, ROC curve and decision regions");
    sample::add_training_flags(app, flags);
    sample::add_out_flag(app, flags);
    app.add_option("--dataset", dataset, "the synthetic set")
        ->check(CLI::IsMember({"moons", "spirals", "blobs", "xor"}))
        ->capture_default_str();
    // The 20% validation split rounds to at least one point, and leaves at least two for training, from 3 up.
    app.add_option("--points", points, "how many points")->check(sample::whole_number(3))->capture_default_str();
    CLI::Option* noise_flag =
        app.add_option("--noise", noise, "spread of the points around their shape (moons, spirals, xor)")
            ->check(sample::finite())
            ->capture_default_str();
    app.add_option("--cluster-std", cluster_std, "standard deviation of each blob (blobs)")
        ->check(sample::positive())
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (dataset == "blobs" && noise_flag->count() > 0) {
        fmt::print(stderr, "error: --noise does not apply to blobs; set their spread with --cluster-std\n");
        return 1;
    }

    xg::set_num_threads(flags.threads);
    xg::Generator generator(flags.seed);
    const data::Dataset all = dataset == "moons"     ? data::make_moons(points, generator, noise)
                              : dataset == "spirals" ? data::make_spirals(points / 3, 3, generator, noise)
                              : dataset == "blobs"   ? data::make_blobs(points, 4, 2, generator, cluster_std)
                                                     : data::make_xor(points, generator, noise);
    // Standardized with the training rows' statistics only.
    const data::Split raw = data::random_split(all, 0.2, generator);
    data::StandardScaler scaler;
    scaler.fit(raw.train);
    const data::Split split{scaler.transform(raw.train), scaler.transform(raw.test)};
    const std::size_t classes = all.num_classes;
    fmt::print("{}: {} training and {} validation points, {} classes\n", dataset, split.train.size(),
               split.test.size(), classes);

    // Two classes need one logit (binary cross-entropy); more need one output per class (softmax).
    const std::size_t outputs = classes == 2 ? 1 : classes;
    nn::Sequential model(nn::Linear(2, 32, generator), nn::Tanh(), nn::Linear(32, 32, generator), nn::Tanh(),
                         nn::Linear(32, outputs, generator));
    xg::optim::Adam adam(model.parameters(), {.lr = flags.lr});
    xg::FitOptions options;
    options.epochs = flags.epochs;
    options.loader = {.batch_size = flags.batch_size, .shuffle = true, .drop_last = false, .seed = flags.seed};
    options.validation = &split.test;
    options.patience = 30;
    options.restore_best = true;
    options.history_csv = sample::output_file(flags, "history.csv");
    const xg::History history = xg::fit(model, adam, split.train, options);

    const xg::EpochRecord& best = history.epochs[history.best_epoch - 1];
    fmt::print("\nbest epoch {} of {}: validation loss {:.4f}, accuracy {:.4f}\n", best.epoch, history.epochs.size(),
               best.validation_loss, best.validation_accuracy);
    const xg::Var scores = xg::predict(model, split.test);
    const metrics::ConfusionMatrix confusion(metrics::predictions(scores), split.test.labels, classes);
    const metrics::Average average = classes == 2 ? metrics::Average::binary : metrics::Average::macro;
    fmt::print("\nvalidation set:\n{}\nprecision {:.4f}  recall (TPR) {:.4f}  F1 {:.4f}  FPR {:.4f}  ({})\n",
               confusion.to_string(), confusion.precision(average), confusion.recall(average), confusion.f1(average),
               confusion.fpr(average), classes == 2 ? "class 1 is positive" : "macro averages");
    xg::plot::learning_curves(history, sample::output_file(flags, "curves.svg"), {dataset});
    xg::plot::decision_boundary(model, split.train, sample::output_file(flags, "decision_boundary.svg"),
                                {dataset + " (training points)"});
    if (classes == 2) {
        const xt::xarray<float>& logits = scores.value<float>();
        const metrics::RocCurve roc =
            metrics::roc_curve(std::vector<double>(logits.begin(), logits.end()), split.test.labels);
        xg::plot::roc_curve(roc, sample::output_file(flags, "roc.svg"), {dataset + ": ROC curve"});
        fmt::print("ROC AUC {:.4f}\n", roc.auc);
    }
    fmt::print("wrote history.csv, curves.svg, decision_boundary.svg{} in {}\n", classes == 2 ? ", roc.svg" : "",
               flags.out);
    return history.interrupted ? 130 : 0;
}

int main(int argc, char** argv) { return sample::guarded(run, argc, argv); }
