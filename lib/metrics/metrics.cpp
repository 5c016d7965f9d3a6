// Classification metrics. Scores arrive as float32 or float64 Vars; everything is counted in double.

#include <xgrad/errors.hpp>
#include <xgrad/metrics.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace xg::metrics {

namespace {

// The scores as a double (rows, columns) table.
struct Scores {
    std::size_t rows, columns;
    std::vector<double> values;
    double operator()(std::size_t r, std::size_t c) const { return values[r * columns + c]; }
};

void check_scores(const char* op, const Var& scores) {
    if (!scores.defined() || scores.dim() == 0 || scores.dim() > 2)
        throw ShapeError(fmt::format("{}: scores must be (N, C) or (N,), got {}", op,
                                     scores.defined() ? to_string(scores.shape()) : "an undefined variable"));
}

Scores table_of(const char* op, const Var& scores) {
    check_scores(op, scores);
    return {scores.shape()[0], scores.dim() == 2 ? scores.shape()[1] : 1, scores.to_vector<double>()};
}

// The class predicted from one row of scores (see predictions()).
template <class T>
std::size_t predicted_class(const T* row, std::size_t columns, double threshold) {
    if (columns == 1) return row[0] > threshold ? 1 : 0;
    std::size_t best = 0;
    for (std::size_t c = 1; c < columns; ++c)
        if (row[c] > row[best]) best = c;
    return best;
}

void check_lengths(const char* op, std::size_t predicted, std::size_t labels) {
    if (predicted != labels)
        throw ShapeError(fmt::format("{}: {} predictions but {} labels", op, predicted, labels));
    if (labels == 0) throw ShapeError(fmt::format("{}: no labels", op));
}

double ratio(std::size_t numerator, std::size_t denominator) {
    return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

double harmonic(double precision, double recall) {
    return precision + recall == 0.0 ? 0.0 : 2.0 * precision * recall / (precision + recall);
}

}  // namespace

Predictions predictions(const Var& scores, double threshold) {
    const Scores t = table_of("predictions", scores);
    Predictions out(t.rows);
    for (std::size_t r = 0; r < t.rows; ++r) out[r] = predicted_class(&t.values[r * t.columns], t.columns, threshold);
    return out;
}

std::size_t correct(const Var& scores, const std::vector<std::size_t>& labels, double threshold) {
    check_scores("correct", scores);
    check_lengths("correct", scores.shape()[0], labels.size());
    const std::size_t columns = scores.dim() == 2 ? scores.shape()[1] : 1;
    return scores.visit_value([&](const auto& table) {
        std::size_t count = 0;
        for (std::size_t r = 0; r < labels.size(); ++r)
            count += predicted_class(table.data() + r * columns, columns, threshold) == labels[r];
        return count;
    });
}

double accuracy(const Predictions& predicted, const std::vector<std::size_t>& labels) {
    check_lengths("accuracy", predicted.size(), labels.size());
    std::size_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
    return ratio(correct, labels.size());
}

double accuracy(const Var& scores, const std::vector<std::size_t>& labels) {
    return accuracy(predictions(scores), labels);
}

double top_k_accuracy(const Var& scores, const std::vector<std::size_t>& labels, std::size_t k) {
    const Scores t = table_of("top_k_accuracy", scores);
    check_lengths("top_k_accuracy", t.rows, labels.size());
    if (k == 0 || k > t.columns)
        throw Error(fmt::format("top_k_accuracy: k = {} must be in [1, {}] for {} classes", k, t.columns, t.columns));
    std::size_t hits = 0;
    for (std::size_t r = 0; r < t.rows; ++r) {
        if (labels[r] >= t.columns)
            throw Error(fmt::format("top_k_accuracy: label {} of row {} is not below {} classes", labels[r], r,
                                    t.columns));
        // The label is in the top k when fewer than k classes score at least as high (ties count against it).
        const double own = t(r, labels[r]);
        std::size_t at_least = 0;
        for (std::size_t c = 0; c < t.columns; ++c) at_least += c != labels[r] && t(r, c) >= own;
        hits += at_least < k;
    }
    return ratio(hits, t.rows);
}

// ConfusionMatrix ----------------------------------------------------------------------------------------------

ConfusionMatrix::ConfusionMatrix(std::size_t classes) : classes_(classes), counts_(classes * classes, 0) {
    if (classes == 0) throw Error("ConfusionMatrix: needs at least one class");
}

ConfusionMatrix::ConfusionMatrix(const Predictions& predicted, const std::vector<std::size_t>& labels,
                                 std::size_t classes)
    : classes_(0) {
    check_lengths("ConfusionMatrix", predicted.size(), labels.size());
    if (classes == 0)
        classes = 1 + std::max(*std::max_element(predicted.begin(), predicted.end()),
                               *std::max_element(labels.begin(), labels.end()));
    *this = ConfusionMatrix(classes);
    for (std::size_t i = 0; i < labels.size(); ++i) add(labels[i], predicted[i]);
}

ConfusionMatrix ConfusionMatrix::binary(std::size_t tp, std::size_t fn, std::size_t fp, std::size_t tn) {
    ConfusionMatrix m(2);
    m.counts_ = {tn, fp, fn, tp};
    return m;
}

void ConfusionMatrix::add(std::size_t label, std::size_t predicted) {
    if (label >= classes_ || predicted >= classes_)
        throw Error(fmt::format("ConfusionMatrix::add: class {} (predicted {}) of a {}-class matrix", label,
                                predicted, classes_));
    ++counts_[label * classes_ + predicted];
}

std::size_t ConfusionMatrix::count(std::size_t label, std::size_t predicted) const {
    if (label >= classes_ || predicted >= classes_)
        throw Error(fmt::format("ConfusionMatrix::count: class {} (predicted {}) of a {}-class matrix", label,
                                predicted, classes_));
    return counts_[label * classes_ + predicted];
}

std::size_t ConfusionMatrix::total() const { return std::accumulate(counts_.begin(), counts_.end(), std::size_t{0}); }

std::size_t ConfusionMatrix::true_positives(std::size_t c) const { return count(c, c); }

std::size_t ConfusionMatrix::false_positives(std::size_t c) const {
    std::size_t n = 0;
    for (std::size_t t = 0; t < classes_; ++t) n += t == c ? 0 : count(t, c);
    return n;
}

std::size_t ConfusionMatrix::false_negatives(std::size_t c) const {
    std::size_t n = 0;
    for (std::size_t p = 0; p < classes_; ++p) n += p == c ? 0 : count(c, p);
    return n;
}

std::size_t ConfusionMatrix::true_negatives(std::size_t c) const {
    return total() - true_positives(c) - false_positives(c) - false_negatives(c);
}

double ConfusionMatrix::accuracy() const {
    std::size_t correct = 0;
    for (std::size_t c = 0; c < classes_; ++c) correct += count(c, c);
    return ratio(correct, total());
}

double ConfusionMatrix::precision(std::size_t c) const {
    return ratio(true_positives(c), true_positives(c) + false_positives(c));
}
double ConfusionMatrix::recall(std::size_t c) const {
    return ratio(true_positives(c), true_positives(c) + false_negatives(c));
}
double ConfusionMatrix::fpr(std::size_t c) const {
    return ratio(false_positives(c), false_positives(c) + true_negatives(c));
}
double ConfusionMatrix::f1(std::size_t c) const { return harmonic(precision(c), recall(c)); }

template <class PerClass, class Pooled>
double ConfusionMatrix::averaged(const char* what, Average average, PerClass per_class, Pooled pooled) const {
    switch (average) {
        case Average::binary:
            if (classes_ != 2)
                throw Error(fmt::format("ConfusionMatrix::{}: Average::binary needs 2 classes, this matrix has {}; "
                                        "use Average::macro or Average::micro",
                                        what, classes_));
            return per_class(1);
        case Average::macro: {
            double sum = 0.0;
            for (std::size_t c = 0; c < classes_; ++c) sum += per_class(c);
            return sum / static_cast<double>(classes_);
        }
        case Average::micro: {
            std::size_t tp = 0, fp = 0, fn = 0, tn = 0;
            for (std::size_t c = 0; c < classes_; ++c) {
                tp += true_positives(c);
                fp += false_positives(c);
                fn += false_negatives(c);
                tn += true_negatives(c);
            }
            return pooled(tp, fp, fn, tn);
        }
    }
    return 0.0;
}

double ConfusionMatrix::precision(Average average) const {
    return averaged("precision", average, [&](std::size_t c) { return precision(c); },
                    [](std::size_t tp, std::size_t fp, std::size_t, std::size_t) { return ratio(tp, tp + fp); });
}

double ConfusionMatrix::recall(Average average) const {
    return averaged("recall", average, [&](std::size_t c) { return recall(c); },
                    [](std::size_t tp, std::size_t, std::size_t fn, std::size_t) { return ratio(tp, tp + fn); });
}

double ConfusionMatrix::fpr(Average average) const {
    return averaged("fpr", average, [&](std::size_t c) { return fpr(c); },
                    [](std::size_t, std::size_t fp, std::size_t, std::size_t tn) { return ratio(fp, fp + tn); });
}

double ConfusionMatrix::f1(Average average) const {
    return averaged("f1", average, [&](std::size_t c) { return f1(c); },
                    [](std::size_t tp, std::size_t fp, std::size_t fn, std::size_t) {
                        return harmonic(ratio(tp, tp + fp), ratio(tp, tp + fn));
                    });
}

std::string ConfusionMatrix::to_string(const std::vector<std::string>& names) const {
    if (!names.empty() && names.size() != classes_)
        throw Error(fmt::format("ConfusionMatrix::to_string: {} names for {} classes", names.size(), classes_));
    std::vector<std::string> label(classes_);
    for (std::size_t c = 0; c < classes_; ++c) label[c] = names.empty() ? std::to_string(c) : names[c];
    std::size_t width = std::to_string(total()).size();
    for (const std::string& l : label) width = std::max(width, l.size());
    width = std::max<std::size_t>(width, 6);
    const std::size_t first = std::max<std::size_t>(width, 10);

    std::string out = fmt::format("{:>{}} | predicted\n", "true", first);
    out += fmt::format("{:>{}} |", "", first);
    for (const std::string& l : label) out += fmt::format(" {:>{}}", l, width);
    out += "  recall\n" + std::string(first + 1, '-') + "+" + std::string(classes_ * (width + 1) + 8, '-') + "\n";
    for (std::size_t t = 0; t < classes_; ++t) {
        out += fmt::format("{:>{}} |", label[t], first);
        for (std::size_t p = 0; p < classes_; ++p) out += fmt::format(" {:>{}}", count(t, p), width);
        out += fmt::format("  {:.4f}\n", recall(t));
    }
    out += fmt::format("{:>{}} |", "precision", first);
    for (std::size_t p = 0; p < classes_; ++p) out += fmt::format(" {:>{}.4f}", precision(p), width);
    out += fmt::format("\naccuracy {:.4f} over {} rows\n", accuracy(), total());
    return out;
}

// ROC ---------------------------------------------------------------------------------------------------------

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<std::size_t>& labels) {
    check_lengths("roc_curve", scores.size(), labels.size());
    std::size_t positives = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] > 1)
            throw Error(fmt::format("roc_curve: label {} of row {}: labels must be 0 or 1", labels[i], i));
        if (std::isnan(scores[i])) throw Error(fmt::format("roc_curve: score of row {} is NaN", i));
        positives += labels[i];
    }
    const std::size_t negatives = labels.size() - positives;
    if (positives == 0 || negatives == 0)
        throw Error(fmt::format("roc_curve: {} positive and {} negative rows; a ROC curve needs both", positives,
                                negatives));

    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });

    RocCurve roc;
    roc.fpr.push_back(0.0);
    roc.tpr.push_back(0.0);
    roc.thresholds.push_back(std::numeric_limits<double>::infinity());
    std::size_t tp = 0, fp = 0;
    for (std::size_t i = 0; i < order.size();) {
        // Every row with this score turns positive at once: one point per distinct threshold.
        const double threshold = scores[order[i]];
        for (; i < order.size() && scores[order[i]] == threshold; ++i) (labels[order[i]] ? tp : fp) += 1;
        const double x = ratio(fp, negatives), y = ratio(tp, positives);
        roc.auc += (x - roc.fpr.back()) * (y + roc.tpr.back()) / 2.0;
        roc.fpr.push_back(x);
        roc.tpr.push_back(y);
        roc.thresholds.push_back(threshold);
    }
    return roc;
}

double roc_auc(const std::vector<double>& scores, const std::vector<std::size_t>& labels) {
    return roc_curve(scores, labels).auc;
}

}  // namespace xg::metrics
