// Metrics against seed 000's worked example and hand-computed cases, including ROC curves with tied scores.
#include "check.hpp"

using xg::Var;
namespace metrics = xg::metrics;
using metrics::Average;

using check::error_message;

TEST_CASE("seed 000's example: TP 521, FN 29, FP 15, TN 435") {
    const auto m = metrics::ConfusionMatrix::binary(521, 29, 15, 435);
    CHECK(m.total() == 1000);
    CHECK(m.accuracy() == doctest::Approx(0.956));
    CHECK(m.precision(Average::binary) == doctest::Approx(521.0 / 536.0));
    CHECK(m.precision(Average::binary) == doctest::Approx(0.972).epsilon(5e-4));
    CHECK(m.recall(Average::binary) == doctest::Approx(0.947).epsilon(5e-4));
    CHECK(m.tpr(Average::binary) == m.recall(Average::binary));
    CHECK(m.fpr(Average::binary) == doctest::Approx(15.0 / 450.0));
    CHECK(m.fpr(Average::binary) == doctest::Approx(0.033).epsilon(2e-2));
    CHECK(m.f1(Average::binary) == doctest::Approx(0.959).epsilon(5e-4));
    CHECK(m.true_negatives(1) == 435);
    CHECK(m.false_negatives(1) == 29);
}

TEST_CASE("multi-class counts, macro and micro averages by hand") {
    // true:      0 0 0 1 1 2 2 2 2
    // predicted: 0 1 0 1 2 2 2 0 2
    const metrics::ConfusionMatrix m({0, 1, 0, 1, 2, 2, 2, 0, 2}, {0, 0, 0, 1, 1, 2, 2, 2, 2});
    CHECK(m.classes() == 3);
    CHECK(m.count(0, 0) == 2);
    CHECK(m.count(2, 0) == 1);
    CHECK(m.accuracy() == doctest::Approx(6.0 / 9.0));
    // Class 0: TP 2, FP 1, FN 1. Class 1: TP 1, FP 1, FN 1. Class 2: TP 3, FP 1, FN 1.
    CHECK(m.precision(0) == doctest::Approx(2.0 / 3.0));
    CHECK(m.recall(1) == doctest::Approx(0.5));
    CHECK(m.precision(2) == doctest::Approx(0.75));
    CHECK(m.fpr(2) == doctest::Approx(1.0 / 5.0));
    CHECK(m.precision(Average::macro) == doctest::Approx((2.0 / 3 + 0.5 + 0.75) / 3));
    CHECK(m.recall(Average::macro) == doctest::Approx((2.0 / 3 + 0.5 + 0.75) / 3));
    CHECK(m.f1(Average::macro) == doctest::Approx((2.0 / 3 + 0.5 + 0.75) / 3));
    // Micro pools TP 6, FP 3, FN 3: precision = recall = F1 = accuracy for single-label data.
    CHECK(m.precision(Average::micro) == doctest::Approx(6.0 / 9.0));
    CHECK(m.f1(Average::micro) == doctest::Approx(6.0 / 9.0));
    CHECK(m.fpr(Average::micro) == doctest::Approx(3.0 / 18.0));
    CHECK(error_message([&] { m.precision(Average::binary); }) ==
          "ConfusionMatrix::precision: Average::binary needs 2 classes, this matrix has 3; use Average::macro or "
          "Average::micro");
    CHECK(error_message([&] { metrics::ConfusionMatrix(3).add(3, 0); }) ==
          "ConfusionMatrix::add: class 3 (predicted 0) of a 3-class matrix");
    // A class never predicted has precision 0, not NaN.
    CHECK(metrics::ConfusionMatrix({0, 0}, {0, 1}).precision(1) == 0.0);

    const std::string table = m.to_string({"cat", "dog", "bird"});
    INFO(table);
    CHECK(table.find("      true | predicted") == 0);
    CHECK(table.find("       cat |      2      1      0  0.6667") != std::string::npos);
    CHECK(table.find("accuracy 0.6667 over 9 rows") != std::string::npos);
}

TEST_CASE("accuracy, predictions and top-k from scores") {
    const Var scores(xt::xarray<float>{{0.1f, 0.7f, 0.2f}, {0.5f, 0.3f, 0.2f}, {0.3f, 0.3f, 0.4f}});
    CHECK(metrics::predictions(scores) == std::vector<std::size_t>{1, 0, 2});
    CHECK(metrics::accuracy(scores, {1, 1, 2}) == doctest::Approx(2.0 / 3.0));
    CHECK(metrics::top_k_accuracy(scores, {1, 1, 2}, 2) == doctest::Approx(1.0));
    CHECK(metrics::top_k_accuracy(scores, {2, 2, 0}, 2) == doctest::Approx(1.0 / 3.0));
    CHECK(metrics::top_k_accuracy(scores, {2, 2, 0}, 3) == 1.0);
    const Var logits = xg::reshape(Var(xt::xarray<double>{2.0, -1.0, 0.5}), {3, 1});
    CHECK(metrics::predictions(logits) == std::vector<std::size_t>{1, 0, 1});
    CHECK(metrics::predictions(xg::sigmoid(logits), 0.5) == std::vector<std::size_t>{1, 0, 1});
    // Ties: the first of equal columns; a score equal to the threshold is not above it.
    CHECK(metrics::predictions(Var(xt::xarray<double>{{0.5, 0.5, 0.1}, {0.2, 0.4, 0.4}})) ==
          std::vector<std::size_t>{0, 1});
    CHECK(metrics::predictions(Var(xt::xarray<double>{0.0, 0.5, -0.0})) == std::vector<std::size_t>{0, 1, 0});
    CHECK(metrics::predictions(Var(xt::xarray<double>{0.5, 0.75}), 0.5) == std::vector<std::size_t>{0, 1});
    // correct counts what predictions() would predict, ties and thresholds alike, in either dtype.
    CHECK(metrics::correct(scores, {1, 1, 2}) == 2);
    CHECK(metrics::correct(Var(xt::xarray<double>{{0.5, 0.5, 0.1}, {0.2, 0.4, 0.4}}), {0, 2}) == 1);
    CHECK(metrics::correct(logits, {1, 1, 1}) == 2);
    CHECK(metrics::correct(Var(xt::xarray<double>{0.5, 0.75}), {0, 1}, 0.5) == 2);
    CHECK(error_message([&] { metrics::correct(scores, {1}); }) == "correct: 3 predictions but 1 labels");
    CHECK(error_message([&] { metrics::accuracy(metrics::Predictions{1, 2}, std::vector<std::size_t>{1}); }) == "accuracy: 2 predictions but 1 labels");
    CHECK(error_message([&] { metrics::top_k_accuracy(scores, {0, 0, 0}, 4); }) ==
          "top_k_accuracy: k = 4 must be in [1, 3] for 3 classes");
}

TEST_CASE("ROC curves and AUC by hand, with ties") {
    // scikit-learn's example: fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], AUC 0.75.
    const metrics::RocCurve roc = metrics::roc_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1});
    CHECK(roc.fpr == std::vector<double>{0, 0, 0.5, 0.5, 1});
    CHECK(roc.tpr == std::vector<double>{0, 0.5, 0.5, 1, 1});
    CHECK(roc.thresholds[1] == 0.8);
    CHECK(roc.auc == doctest::Approx(0.75));

    // A positive and a negative tied at 0.7 form one diagonal step and count one half:
    // pairs (0.9 > 0.7) + (0.9 > 0.2) + ½ (0.7 = 0.7) + (0.7 > 0.2) = 3.5 of 4.
    const metrics::RocCurve tied = metrics::roc_curve({0.9, 0.7, 0.7, 0.2}, {1, 1, 0, 0});
    CHECK(tied.fpr == std::vector<double>{0, 0, 0.5, 1});
    CHECK(tied.tpr == std::vector<double>{0, 0.5, 1, 1});
    CHECK(tied.auc == doctest::Approx(0.875));
    CHECK(metrics::roc_auc({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}) == doctest::Approx(0.5));
    CHECK(metrics::roc_auc({0.1, 0.2, 0.8, 0.9}, {1, 1, 0, 0}) == 0.0);

    CHECK(error_message([&] { metrics::roc_curve({0.1, 0.2}, {1, 1}); }) ==
          "roc_curve: 2 positive and 0 negative rows; a ROC curve needs both");
    CHECK(error_message([&] { metrics::roc_curve({0.1, 0.2}, {1, 2}); }) ==
          "roc_curve: label 2 of row 1: labels must be 0 or 1");
    CHECK(error_message([&] { metrics::roc_curve({0.1, NAN}, {1, 0}); }) == "roc_curve: score of row 1 is NaN");
}

namespace {
template <class First, class Second>
concept accuracy_takes = requires(const First& first, const Second& second) { metrics::accuracy(first, second); };
}  // namespace

TEST_CASE("predictions have their own type, so (predicted, labels) cannot be passed swapped") {
    static_assert(accuracy_takes<metrics::Predictions, std::vector<std::size_t>>);
    static_assert(!accuracy_takes<std::vector<std::size_t>, metrics::Predictions>);
    static_assert(std::is_constructible_v<metrics::ConfusionMatrix, metrics::Predictions, std::vector<std::size_t>>);
    static_assert(!std::is_constructible_v<metrics::ConfusionMatrix, std::vector<std::size_t>, metrics::Predictions>);
    static_assert(!std::is_convertible_v<std::vector<std::size_t>, metrics::Predictions>);
    const std::vector<std::size_t> labels{0, 1, 1};
    const metrics::Predictions predicted(std::vector<std::size_t>{0, 0, 1});
    CHECK(metrics::accuracy(predicted, labels) == doctest::Approx(2.0 / 3.0));
    CHECK(metrics::ConfusionMatrix(predicted, labels).count(1, 0) == 1);  // a true 1 predicted as 0
}
