#pragma once
// Plots of what training produces, drawn with PLplot. The file name's extension picks the format: .svg (always
// there) or .png (needs Debian's plplot-driver-cairo). Files are written atomically: whole or not at all.
// Part of libxgrad only when it was built with PLplot (-Dplot, see README).
#include <xgrad/config.hpp>
#if !XGRAD_HAS_PLOT
#error "this xgrad was built without plots (-Dplot=disabled, or PLplot missing): reconfigure it with -Dplot=enabled"
#endif

#include <xgrad/data.hpp>
#include <xgrad/lr_finder.hpp>
#include <xgrad/metrics.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/train.hpp>
#include <xgrad/var.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xg::plot {

/// One line of a chart, or a scatter of its points when `points` is set. A line of one point is drawn as its
/// point. Without a label a series stays out of the legend; without a colour ("#rrggbb") it takes the next one of
/// matplotlib's "tab10" cycle.
struct Series {
    std::string label;
    std::vector<double> x, y;
    bool points = false;
    std::string colour = "";
};

/// What every plot takes. A plot with fixed axes (the ROC curve, learning curves) labels them itself where the
/// labels are empty. Limits must be finite with low < high (positive on a log axis), a size at most 100 inches,
/// dpi at most 1200 and a PNG at most 20000 pixels a side; the plot throws xg::Error naming what is wrong.
struct ChartOptions {
    std::string title = "";
    std::string x_label = "";
    std::string y_label = "";
    bool log_x = false;
    /// A logarithmic y axis; values ≤ 0 are left out.
    bool log_y = false;
    /// (low, high) of the axis, as matplotlib's xlim and ylim; unset, the data's range plus a 5% margin.
    std::optional<std::pair<double, double>> x_limits = std::nullopt;
    std::optional<std::pair<double, double>> y_limits = std::nullopt;
    /// (width, height) in inches, as matplotlib's figsize; text is 9 pt whatever the size. Unset, each plot's own.
    std::optional<std::pair<double, double>> figure_size = std::nullopt;
    /// A PNG's pixels per inch: it is figure_size × dpi pixels, drawn alike at any dpi, only finer. An SVG has no
    /// pixels: it is figure_size in inches (its width and height in pt) whatever the dpi, as matplotlib's.
    double dpi = 100.0;
};

/// Lines (and scatters) in one chart with a legend, which goes to the corner where it hides the fewest points.
void line_chart(const std::vector<Series>& series, const std::string& path, const ChartOptions& options = {});

/// Loss (left) and accuracy (right) against epoch, training and validation, each epoch marked when there are at
/// most 20. The title starts each panel's title; x_limits are the epochs shown, y_limits and log_y the loss's.
void learning_curves(const History& history, const std::string& path, const ChartOptions& options = {});

/// The smoothed loss of a learning-rate range test against the rate (log scale), with the suggested rate marked.
/// The axes show the whole curve, divergence included; y_limits or log_y look closer at the fall.
void lr_range_test(const FindLRResult& result, const std::string& path, const ChartOptions& options = {});

/// The ROC curve with the chance diagonal; the legend gives the AUC.
void roc_curve(const metrics::RocCurve& roc, const std::string& path, const ChartOptions& options = {});

/// One histogram panel per named array (e.g. each layer's activations), `bins` bins over options.x_limits (as
/// matplotlib's hist range), else over the range of all the values; log_y counts on a log scale. The title is the
/// figure's, above the panels.
void histograms(const Named<Var>& arrays, const std::string& path, std::size_t bins = 30,
                const ChartOptions& options = {});

/// The classes a model predicts over the plane of a 2-feature dataset, as coloured regions, with the dataset's
/// points on top. The model maps (N, 2) inputs to class scores (or one logit); the boundaries follow its scores
/// between the `resolution` × `resolution` grid's points, so they are smooth, not stair-stepped.
void decision_boundary(nn::Module& model, const data::Dataset& data, const std::string& path,
                       const ChartOptions& options = {}, std::size_t resolution = 150);

}  // namespace xg::plot
