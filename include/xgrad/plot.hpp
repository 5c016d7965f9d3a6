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
#include <string>
#include <vector>

namespace xg::plot {

/// One line of a chart, or a scatter of its points when `points` is set.
struct Series {
    std::string label;
    std::vector<double> x, y;
    bool points = false;
};

struct ChartOptions {
    std::string title;
    std::string x_label;
    std::string y_label;
    bool log_x = false;
    /// A logarithmic y axis; values ≤ 0 are left out.
    bool log_y = false;
};

/// Lines (and scatters) in one chart with a legend, which goes to the corner where it hides the fewest points.
void line_chart(const std::vector<Series>& series, const std::string& path, const ChartOptions& options = {});

/// Loss (left) and accuracy (right) against epoch, training and validation.
void learning_curves(const History& history, const std::string& path, const std::string& title = "");

/// The smoothed loss of a learning-rate range test against the rate (log scale), with the suggested rate marked.
void lr_range_test(const FindLRResult& result, const std::string& path);

/// The ROC curve with the chance diagonal; the legend gives the AUC.
void roc_curve(const metrics::RocCurve& roc, const std::string& path, const std::string& title = "ROC curve");

/// One histogram panel per named array (e.g. each layer's activations), `bins` bins over
/// [low, high]; low == high takes the range of all the values.
void histograms(const Named<Var>& arrays, const std::string& path, std::size_t bins = 30, double low = 0.0,
                double high = 0.0);

/// The classes a model predicts over the plane of a 2-feature dataset, as coloured regions, with the dataset's
/// points on top. The model maps (N, 2) inputs to class scores (or one logit).
void decision_boundary(nn::Module& model, const data::Dataset& data, const std::string& path,
                       const std::string& title = "", std::size_t resolution = 150);

}  // namespace xg::plot
