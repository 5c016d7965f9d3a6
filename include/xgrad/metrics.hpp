#pragma once
// Metrics for classifiers: accuracy, the confusion matrix and what it
// gives (precision, recall/TPR, FPR, F1 per class and averaged), ROC curves with their AUC, top-k accuracy.
#include <xgrad/var.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace xg::metrics {

/// Class indices a classifier predicted, one per row: what predictions() returns, and a type of its own so that
/// the metrics taking (predicted, labels) cannot take them swapped (`accuracy(labels, predicted)` does not
/// compile, where two plain vectors would silently transpose a confusion matrix). It is a vector of indices in
/// everything else; wrap indices from elsewhere explicitly: `Predictions(indices)`.
struct Predictions : std::vector<std::size_t> {
    using std::vector<std::size_t>::vector;
    explicit Predictions(std::vector<std::size_t> classes) : std::vector<std::size_t>(std::move(classes)) {}
};

/// The highest-scoring column of each row of (N, C) scores, the first of equal ones (as torch.argmax); for (N, 1)
/// or (N,) scores (one logit per row), 1 where the score is strictly above `threshold` (0 for logits), else 0: a
/// score equal to the threshold is 0, as `logit > 0` is. (roc_curve's thresholds count a score equal to them
/// as positive, as scikit-learn's do.)
Predictions predictions(const Var& scores, double threshold = 0.0);
/// How many rows' predictions (as predictions() makes them) equal their labels, without building the list: what fit
/// counts after every batch. Throws ShapeError when the lengths differ or are zero.
std::size_t correct(const Var& scores, const std::vector<std::size_t>& labels, double threshold = 0.0);
/// Fraction of predictions equal to the labels. Throws ShapeError when the lengths differ or are zero.
double accuracy(const Predictions& predicted, const std::vector<std::size_t>& labels);
/// accuracy(predictions(scores), labels).
double accuracy(const Var& scores, const std::vector<std::size_t>& labels);
/// Fraction of rows whose label is among the k highest scores of (N, C) scores (ties count in the label's favour
/// only when its score is strictly among the top k).
double top_k_accuracy(const Var& scores, const std::vector<std::size_t>& labels, std::size_t k);

/// How precision, recall, F1 and FPR combine over classes: `binary` reports class 1 (the positive class) of a
/// two-class matrix; `macro` is the unweighted mean over classes; `micro` pools every class's counts first.
enum class Average { binary, macro, micro };

/// counts(t, p): how many rows of true class t were predicted as class p.
class ConfusionMatrix {
public:
    explicit ConfusionMatrix(std::size_t classes);
    /// Counts predictions against labels; classes = 0 means one more than the largest class seen.
    ConfusionMatrix(const Predictions& predicted, const std::vector<std::size_t>& labels, std::size_t classes = 0);
    /// The two-class matrix with these counts (class 1 is positive).
    static ConfusionMatrix binary(std::size_t tp, std::size_t fn, std::size_t fp, std::size_t tn);

    /// Counts one row: true class `label` predicted as `predicted` (the matrix's row and column, as count's).
    void add(std::size_t label, std::size_t predicted);
    std::size_t classes() const { return classes_; }
    std::size_t count(std::size_t label, std::size_t predicted) const;
    std::size_t total() const;

    // One class against the rest.
    std::size_t true_positives(std::size_t c) const;
    std::size_t false_positives(std::size_t c) const;
    std::size_t false_negatives(std::size_t c) const;
    std::size_t true_negatives(std::size_t c) const;

    double accuracy() const;
    /// TP / (TP + FP); 0 when nothing was predicted as the class (as scikit-learn's zero_division=0).
    double precision(std::size_t c) const;
    /// TP / (TP + FN), also called TPR or sensitivity; 0 when the class never occurs.
    double recall(std::size_t c) const;
    double tpr(std::size_t c) const { return recall(c); }
    /// FP / (FP + TN); 0 when every row is of class c.
    double fpr(std::size_t c) const;
    /// 2·P·R / (P + R); 0 when P + R is 0.
    double f1(std::size_t c) const;

    double precision(Average average) const;
    double recall(Average average) const;
    double tpr(Average average) const { return recall(average); }
    double fpr(Average average) const;
    double f1(Average average) const;

    /// The matrix as a table, rows the true class and columns the predicted one, with per-class precision and
    /// recall; `names` labels the classes (their numbers when empty).
    std::string to_string(const std::vector<std::string>& names = {}) const;

private:
    template <class PerClass, class Pooled>
    double averaged(const char* what, Average average, PerClass per_class, Pooled pooled) const;

    std::size_t classes_;
    std::vector<std::size_t> counts_;  // row-major classes × classes
};

/// The ROC curve of a binary classifier: one point per distinct score threshold, from (0, 0) to (1, 1).
struct RocCurve {
    std::vector<double> fpr;
    std::vector<double> tpr;
    /// thresholds[i] gives point i: predict positive when score ≥ threshold (the first is +∞).
    std::vector<double> thresholds;
    /// Area under the curve by the trapezoidal rule; rows with tied scores form one step, so a tie between a
    /// positive and a negative counts one half (the Mann–Whitney statistic).
    double auc = 0.0;
};

/// The ROC curve of scores (higher means more likely positive) against labels (1 positive, 0 negative).
/// Throws Error when the lengths differ, a label is not 0 or 1, a score is NaN, or a class is missing.
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<std::size_t>& labels);
/// roc_curve(scores, labels).auc.
double roc_auc(const std::vector<double>& scores, const std::vector<std::size_t>& labels);

}  // namespace xg::metrics
