// Plots through PLplot's C++ stream. PLplot ends the program on errors it cannot handle (an unknown device, a
// file it cannot open), so both are ruled out here first: the device is looked up in PLplot's list, and the
// "file" it writes is a memory stream, whose bytes write_file then saves whole or not at all.
#include "io/files.hpp"

#include <xgrad/autograd.hpp>
#include <xgrad/errors.hpp>
#include <xgrad/plot.hpp>

#include <fmt/core.h>
#include <plstream.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

namespace xg::plot {

namespace {

// cmap0: 0 background, 1 ink, 2 grid, then the series colours (matplotlib's "tab10"), then their tints.
constexpr int ink = 1, grid = 2, first_colour = 3, first_tint = 13;
constexpr std::array<std::array<int, 3>, 10> palette = {{{31, 119, 180},
                                                          {255, 127, 14},
                                                          {44, 160, 44},
                                                          {214, 39, 40},
                                                          {148, 103, 189},
                                                          {140, 86, 75},
                                                          {227, 119, 194},
                                                          {127, 127, 127},
                                                          {188, 189, 34},
                                                          {23, 190, 207}}};

// A small circle, Hershey glyph 840, for scatter points.
constexpr const char* circle = "#(840)";

int colour(std::size_t i) { return first_colour + static_cast<int>(i % palette.size()); }
int tint(std::size_t i) { return first_tint + static_cast<int>(i % palette.size()); }

std::string device_for(const char* op, const std::string& path) {
    const std::string extension = std::filesystem::path(path).extension().string();
    const char* device = extension == ".svg" ? "svg" : extension == ".png" ? "pngcairo" : nullptr;
    if (!device)
        throw Error(fmt::format("{}: '{}': unknown format '{}'; use .svg or .png", op, path, extension));
    constexpr int most = 128;
    std::array<const char*, most> menu{}, names{};
    const char** menu_pointer = menu.data();
    const char** names_pointer = names.data();
    int count = most;
    plgDevs(&menu_pointer, &names_pointer, &count);
    for (int i = 0; i < count; ++i)
        if (std::string(names[static_cast<std::size_t>(i)]) == device) return device;
    throw Error(fmt::format("{}: '{}': PLplot has no '{}' device here{}", op, path, device,
                            extension == ".png" ? " (install plplot-driver-cairo)" : ""));
}

struct Range {
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    void add(double v) {
        if (!std::isfinite(v)) return;
        low = std::min(low, v);
        high = std::max(high, v);
    }
    // Widened by a margin, and never empty.
    Range padded(double fraction = 0.05) const {
        if (!(low <= high)) return {0.0, 1.0};
        const double span = high > low ? high - low : std::max(std::abs(low), 1.0);
        return {low - fraction * span, high + fraction * span};
    }
};

// The (x, y) pairs with both coordinates finite: PLplot would draw NaN and ±∞ as wild strokes.
std::pair<std::vector<double>, std::vector<double>> finite_points(const std::vector<double>& x,
                                                                  const std::vector<double>& y) {
    std::pair<std::vector<double>, std::vector<double>> out;
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::isfinite(x[i]) && std::isfinite(y[i])) {
            out.first.push_back(x[i]);
            out.second.push_back(y[i]);
        }
    return out;
}

struct LegendEntry {
    std::string label;
    int colour;
    int style = 1;          // PLplot line style; 0: a symbol instead of a line
};

// One PLplot stream drawing into a file, with our colours, panels laid out nx × ny.
class Figure {
public:
    Figure(std::FILE* file, const std::string& device, int nx = 1, int ny = 1, int width = 900,
           int height = 600)
        : nx_(nx), ny_(ny), width_(width), height_(height) {
        stream_ = std::make_unique<plstream>();
        stream_->sdev(device.c_str());
        if (file) stream_->sfile(file);
        stream_->spage(0.0, 0.0, width, height, 0, 0);
        stream_->scmap0n(first_tint + static_cast<int>(palette.size()));
        stream_->scolbg(255, 255, 255);
        stream_->scol0(ink, 30, 30, 30);
        stream_->scol0(grid, 225, 225, 225);
        for (std::size_t i = 0; i < palette.size(); ++i)
            stream_->scol0(colour(i), palette[i][0], palette[i][1], palette[i][2]);
        stream_->ssub(nx, ny);
        stream_->init();
        stream_->fontld(1);
        stream_->schr(0.0, 0.9);
    }

    plstream& s() { return *stream_; }

    // A new panel with axes, grid and labels over the given window (x, y given as log10 when log_x, log_y).
    // x_tick is the spacing of the x labels; 0 lets PLplot choose.
    void panel(Range x, Range y, const ChartOptions& o, double x_tick = 0.0) {
        plstream& p = *stream_;
        p.adv(0);
        p.vsta();
        p.wind(x.low, x.high, y.low, y.high);
        window_x_ = x;
        window_y_ = y;
        drawn_.clear();
        p.col0(grid);
        p.width(0.5);
        p.box(o.log_x ? "gl" : "g", x_tick, 0, o.log_y ? "gl" : "g", 0.0, 0);
        p.col0(ink);
        p.width(1.0);
        p.box(o.log_x ? "bcnstl" : "bcnst", x_tick, 0, o.log_y ? "bcnstvl" : "bcnstv", 0.0, 0);
        p.lab(o.x_label.c_str(), o.y_label.c_str(), o.title.c_str());
    }

    void line(const std::vector<double>& x, const std::vector<double>& y, int c, int style = 1, double width = 2.0) {
        const auto [xs, ys] = finite_points(x, y);
        if (xs.empty()) return;
        remember(xs, ys, true);
        stream_->col0(c);
        stream_->lsty(style);
        stream_->width(width);
        stream_->line(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
        stream_->lsty(1);
        stream_->width(1.0);
    }

    void points(const std::vector<double>& x, const std::vector<double>& y, int c) {
        const auto [xs, ys] = finite_points(x, y);
        if (xs.empty()) return;
        remember(xs, ys, false);
        stream_->col0(c);
        stream_->string(static_cast<PLINT>(xs.size()), xs.data(), ys.data(), circle);
    }

    // The legend in the panel's corner where it covers the fewest of the points drawn so far (top right on a tie).
    void legend(const std::vector<LegendEntry>& entries) {
        legend_on(*stream_, entries, best_corner(entries).corner, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX);
    }

    struct Corner {
        PLINT corner;
        std::size_t covered;  // drawn points the legend would hide there
        double height;        // of the legend, in the panel's normalized units
    };

    // The corner where the legend would hide the fewest of the points drawn so far (top right on a tie).
    Corner best_corner(const std::vector<LegendEntry>& entries) const {
        const auto [width, height] = legend_size(entries);
        PLINT best = 0;
        std::size_t fewest = std::numeric_limits<std::size_t>::max();
        for (PLINT corner : {PL_POSITION_TOP | PL_POSITION_RIGHT, PL_POSITION_TOP | PL_POSITION_LEFT,
                             PL_POSITION_BOTTOM | PL_POSITION_RIGHT, PL_POSITION_BOTTOM | PL_POSITION_LEFT}) {
            const bool right = corner & PL_POSITION_RIGHT, top = corner & PL_POSITION_TOP;
            const double x0 = right ? 1.0 - legend_offset - width : legend_offset;
            const double y0 = top ? 1.0 - legend_offset - height : legend_offset;
            std::size_t covered = 0;
            for (const auto& [u, v] : drawn_) covered += u >= x0 && u <= x0 + width && v >= y0 && v <= y0 + height;
            if (covered < fewest) {
                fewest = covered;
                best = corner;
            }
        }
        return {best, fewest, height};
    }

    static constexpr double legend_offset = 0.02;  // from the panel's edges, in its normalized units

private:

    // Width and height of the legend in the panel's normalized units, as PLplot lays it out: measured by drawing
    // it in the same page and panel geometry on PLplot's null device, which draws nothing.
    std::pair<double, double> legend_size(const std::vector<LegendEntry>& entries) const {
        Figure measure(nullptr, "null", nx_, ny_, width_, height_);
        measure.s().adv(0);
        measure.s().vsta();
        measure.s().wind(window_x_.low, window_x_.high, window_y_.low, window_y_.high);
        // Without its background, which the null device would warn it cannot fill; the size is the same.
        return legend_on(measure.s(), entries, PL_POSITION_TOP | PL_POSITION_RIGHT, PL_LEGEND_BOUNDING_BOX);
    }

    // The points of what was drawn, in the panel's normalized units (0 to 1 across the window). Lines are
    // sampled along each segment too, so a long straight stretch counts where it passes.
    void remember(const std::vector<double>& xs, const std::vector<double>& ys, bool joined) {
        const auto normalized = [&](double x, double y) {
            return std::pair{(x - window_x_.low) / (window_x_.high - window_x_.low),
                             (y - window_y_.low) / (window_y_.high - window_y_.low)};
        };
        for (std::size_t i = 0; i < xs.size(); ++i) {
            drawn_.push_back(normalized(xs[i], ys[i]));
            if (!joined || i == 0) continue;
            const auto [u0, v0] = normalized(xs[i - 1], ys[i - 1]);
            const auto [u1, v1] = drawn_.back();
            const int samples = static_cast<int>(std::min(100.0, 50.0 * std::hypot(u1 - u0, v1 - v0)));
            for (int k = 1; k < samples; ++k) {
                const double t = static_cast<double>(k) / samples;
                drawn_.emplace_back(u0 + t * (u1 - u0), v0 + t * (v1 - v0));
            }
        }
    }

    static std::pair<double, double> legend_on(plstream& stream, const std::vector<LegendEntry>& entries,
                                               PLINT position, PLINT box) {
        const auto n = static_cast<PLINT>(entries.size());
        std::vector<PLINT> options, colours, styles, symbol_numbers;
        std::vector<PLFLT> widths, symbol_scales;
        std::vector<const char*> texts, symbols;
        for (const LegendEntry& e : entries) {
            options.push_back(e.style == 0 ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE);
            colours.push_back(e.colour);
            styles.push_back(std::max(e.style, 1));
            widths.push_back(2.0);
            symbol_scales.push_back(1.0);
            symbol_numbers.push_back(1);
            texts.push_back(e.label.c_str());
            symbols.push_back(circle);
        }
        std::vector<PLINT> text_colours(entries.size(), ink);
        PLFLT legend_width = 0, legend_height = 0;
        stream.legend(&legend_width, &legend_height, box, position,
                      legend_offset, legend_offset, 0.08, 0, grid, 1, 0, 0, n, options.data(), 1.0, 0.8, 1.6, 0.0,
                      text_colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr, colours.data(),
                      styles.data(), widths.data(), colours.data(), symbol_scales.data(), symbol_numbers.data(),
                      symbols.data());
        return {legend_width, legend_height};
    }

    std::unique_ptr<plstream> stream_;
    int nx_, ny_, width_, height_;
    Range window_x_, window_y_;
    std::vector<std::pair<double, double>> drawn_;
};

// PLplot reports a call it cannot carry out (limits that leave no room for a panel, ...) to this handler and
// skips the call; the first message fails the plot once drawing ends.
thread_local std::string plplot_error;
extern "C" void record_plplot_error(const char* message) {
    if (plplot_error.empty()) plplot_error = message;
}

// What PLplot writes, collected in memory. PLplot closes the stream when the plot ends.
struct Drawing {
    std::string bytes;
    bool closed = false;
};

// Draws into memory, then saves the drawing as `path`.
template <class Draw>
void draw_file(const char* op, const std::string& path, Draw draw) {
    const std::string device = device_for(op, path);
    Drawing drawing;
    cookie_io_functions_t io{};
    io.write = [](void* cookie, const char* bytes, std::size_t size) -> ssize_t {
        static_cast<Drawing*>(cookie)->bytes.append(bytes, size);
        return static_cast<ssize_t>(size);
    };
    io.close = [](void* cookie) {
        static_cast<Drawing*>(cookie)->closed = true;
        return 0;
    };
    std::FILE* file = fopencookie(&drawing, "w", io);
    if (!file) throw Error(fmt::format("{}: '{}': cannot open a memory stream: {}", op, path, std::strerror(errno)));
    plplot_error.clear();
    plsabort(record_plplot_error);
    try {
        draw(file, device);
    } catch (...) {
        if (!drawing.closed) std::fclose(file);
        throw;
    }
    if (!drawing.closed) std::fclose(file);
    if (!plplot_error.empty()) throw Error(fmt::format("{}: '{}': PLplot: {}", op, path, plplot_error));
    write_file(op, path, drawing.bytes);
}

}  // namespace

void line_chart(const std::vector<Series>& series, const std::string& path, const ChartOptions& options) {
    Range x, y;
    // The values as drawn: log10 on a log axis, where values ≤ 0 have no place.
    std::vector<std::vector<double>> drawn_x, drawn_y;
    for (const Series& s : series) {
        if (s.x.size() != s.y.size())
            throw Error(fmt::format("line_chart: '{}': series '{}' has {} x values and {} y values", path, s.label,
                                    s.x.size(), s.y.size()));
        drawn_x.push_back(s.x);
        drawn_y.push_back(s.y);
        if (options.log_x)
            for (double& v : drawn_x.back()) v = v > 0 ? std::log10(v) : NAN;
        if (options.log_y)
            for (double& v : drawn_y.back()) v = v > 0 ? std::log10(v) : NAN;
        for (double v : drawn_x.back()) x.add(v);
        for (double v : drawn_y.back()) y.add(v);
    }
    std::vector<LegendEntry> legend;
    for (std::size_t i = 0; i < series.size(); ++i)
        legend.push_back({series[i].label, colour(i), series[i].points ? 0 : 1});
    const auto draw = [&](Figure& figure, Range y_window) {
        figure.panel(x.padded(0.0), y_window, options);
        for (std::size_t i = 0; i < series.size(); ++i) {
            if (series[i].points)
                figure.points(drawn_x[i], drawn_y[i], colour(i));
            else
                figure.line(drawn_x[i], drawn_y[i], colour(i));
        }
    };
    // When every corner of the panel would hide some of the data, the y window grows at the top by the legend's
    // height, so the legend has a free band to sit in. Drawn first on PLplot's null device to find out.
    Range y_window = y.padded();
    if (!legend.empty()) {
        Figure trial(nullptr, "null");
        draw(trial, y_window);
        const Figure::Corner corner = trial.best_corner(legend);
        if (corner.covered > 0) {
            const double band = corner.height + 2.0 * Figure::legend_offset;
            y_window.high += (y_window.high - y_window.low) * band / (1.0 - band);
        }
    }
    draw_file("line_chart", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device);
        draw(figure, y_window);
        if (!legend.empty()) figure.legend(legend);
    });
}

void learning_curves(const History& history, const std::string& path, const std::string& title) {
    if (history.epochs.empty()) throw Error(fmt::format("learning_curves: '{}': the history has no epochs", path));
    std::vector<double> epoch, train_loss, validation_loss, train_accuracy, validation_accuracy;
    Range loss, accuracy, x;
    for (const EpochRecord& r : history.epochs) {
        epoch.push_back(static_cast<double>(r.epoch));
        train_loss.push_back(r.train_loss);
        validation_loss.push_back(r.validation_loss);
        train_accuracy.push_back(r.train_accuracy);
        validation_accuracy.push_back(r.validation_accuracy);
        x.add(static_cast<double>(r.epoch));
        for (double v : {r.train_loss, r.validation_loss}) loss.add(v);
        for (double v : {r.train_accuracy, r.validation_accuracy}) accuracy.add(v);
    }
    if (x.low == x.high) x = {x.low - 0.5, x.high + 0.5};
    const bool has_accuracy = accuracy.low <= accuracy.high;
    const std::string validation = history.validation_name;
    draw_file("learning_curves", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, has_accuracy ? 2 : 1, 1, has_accuracy ? 1200 : 800, 500);
        figure.panel(x, loss.padded(), {title.empty() ? "loss" : title + ": loss", "epoch", "loss"});
        figure.line(epoch, train_loss, colour(0));
        figure.line(epoch, validation_loss, colour(1), 2);
        figure.legend({{"train", colour(0)}, {validation, colour(1), 2}});
        if (has_accuracy) {
            figure.panel(x, accuracy.padded(), {title.empty() ? "accuracy" : title + ": accuracy", "epoch", "accuracy"});
            figure.line(epoch, train_accuracy, colour(0));
            figure.line(epoch, validation_accuracy, colour(1), 2);
            figure.legend({{"train", colour(0)}, {validation, colour(1), 2}});
        }
    });
}

void lr_range_test(const FindLRResult& result, const std::string& path) {
    if (result.lrs.empty()) throw Error(fmt::format("lr_range_test: '{}': the result has no steps", path));
    std::vector<double> log_lr;
    Range x, y;
    for (std::size_t i = 0; i < result.lrs.size(); ++i) {
        log_lr.push_back(std::log10(result.lrs[i]));
        x.add(log_lr.back());
        y.add(result.smoothed_losses[i]);
    }
    draw_file("lr_range_test", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device);
        const Range window = y.padded();
        figure.panel(x.padded(0.0), window, {"learning-rate range test", "learning rate", "smoothed loss", true});
        figure.line(log_lr, result.smoothed_losses, colour(0));
        const double suggested = std::log10(result.suggested_lr);
        figure.line({suggested, suggested}, {window.low, window.high}, colour(3), 2, 1.5);
        figure.legend({{"smoothed loss", colour(0)},
                       {fmt::format("suggested lr {:.3g}", result.suggested_lr), colour(3), 2}});
    });
}

void roc_curve(const metrics::RocCurve& roc, const std::string& path, const std::string& title) {
    if (roc.fpr.size() < 2 || roc.fpr.size() != roc.tpr.size())
        throw Error(fmt::format("roc_curve: '{}': the curve needs at least two points", path));
    draw_file("roc_curve", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, 1, 1, 650, 600);
        figure.panel({-0.02, 1.02}, {-0.02, 1.02},
                     {title, "false positive rate (FPR)", "true positive rate (TPR, recall)"});
        figure.line({0.0, 1.0}, {0.0, 1.0}, colour(7), 2, 1.0);
        figure.line(roc.fpr, roc.tpr, colour(0));
        figure.legend({{fmt::format("AUC = {:.4f}", roc.auc), colour(0)}, {"chance", colour(7), 2}});
    });
}

void histograms(const Named<Var>& arrays, const std::string& path, std::size_t bins, double low, double high) {
    if (arrays.empty()) throw Error(fmt::format("histograms: '{}': nothing to plot", path));
    if (bins == 0) throw Error(fmt::format("histograms: '{}': bins must be positive", path));
    std::vector<std::vector<double>> values;
    Range range;
    for (const auto& [name, v] : arrays) {
        values.push_back(v.to_vector<double>());
        for (double x : values.back()) range.add(x);
    }
    if (low < high) range = {low, high};
    if (!(range.low < range.high)) range = range.padded();
    const double step = (range.high - range.low) / static_cast<double>(bins);
    std::vector<std::vector<double>> counts(values.size(), std::vector<double>(bins, 0.0));
    double most = 1.0;
    for (std::size_t k = 0; k < values.size(); ++k) {
        for (double x : values[k]) {
            if (!(x >= range.low && x <= range.high)) continue;
            const auto b = std::min(bins - 1, static_cast<std::size_t>((x - range.low) / step));
            counts[k][b] += 1.0;
        }
        most = std::max(most, *std::max_element(counts[k].begin(), counts[k].end()));
    }
    const int columns = static_cast<int>(std::min<std::size_t>(arrays.size(), 3));
    const int rows = static_cast<int>((arrays.size() + 2) / 3);
    draw_file("histograms", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, columns, rows, 450 * columns, 400 * rows);
        for (std::size_t k = 0; k < arrays.size(); ++k) {
            // Three labels on the x axis: PLplot's own choice crowds a narrow panel until the labels overlap.
            figure.panel({range.low, range.high}, {0.0, most * 1.05}, {arrays[k].first, "value", k == 0 ? "count" : ""},
                         (range.high - range.low) / 2.0);
            figure.s().col0(colour(0));
            for (std::size_t b = 0; b < bins; ++b) {
                if (counts[k][b] == 0.0) continue;
                const double left = range.low + static_cast<double>(b) * step;
                std::array<PLFLT, 4> xs = {left, left + step, left + step, left};
                std::array<PLFLT, 4> ys = {0.0, 0.0, counts[k][b], counts[k][b]};
                figure.s().fill(4, xs.data(), ys.data());
            }
        }
    });
}

void decision_boundary(nn::Module& model, const data::Dataset& data, const std::string& path,
                       const std::string& title, std::size_t resolution) {
    if (data.inputs.dimension() != 2 || data.inputs.shape(1) != 2 || !data.is_classification())
        throw Error(fmt::format("decision_boundary: '{}': needs a classification dataset with 2 features, got inputs {}",
                                path, to_string(data.inputs.shape())));
    if (resolution < 2) throw Error(fmt::format("decision_boundary: '{}': resolution must be at least 2", path));
    Range x, y;
    for (std::size_t i = 0; i < data.size(); ++i) {
        x.add(data.inputs(i, 0));
        y.add(data.inputs(i, 1));
    }
    x = x.padded(0.1);
    y = y.padded(0.1);

    // The class predicted at the centre of each grid cell.
    data::Dataset grid_points;
    grid_points.inputs = xt::xarray<float>::from_shape({resolution * resolution, 2});
    const double dx = (x.high - x.low) / static_cast<double>(resolution);
    const double dy = (y.high - y.low) / static_cast<double>(resolution);
    for (std::size_t i = 0; i < resolution; ++i)
        for (std::size_t j = 0; j < resolution; ++j) {
            grid_points.inputs(i * resolution + j, 0) = static_cast<float>(x.low + (static_cast<double>(i) + 0.5) * dx);
            grid_points.inputs(i * resolution + j, 1) = static_cast<float>(y.low + (static_cast<double>(j) + 0.5) * dy);
        }
    const std::vector<std::size_t> predicted = metrics::predictions(predict(model, grid_points));
    const std::size_t classes = std::max<std::size_t>(data.num_classes, 2);

    draw_file("decision_boundary", path, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, 1, 1, 700, 600);
        figure.panel(x, y, {title, "x1", "x2"});
        // Regions in light tints of the class colours; each column's runs of one class are one rectangle, which
        // keeps an SVG small.
        for (std::size_t c = 0; c < classes; ++c) {
            const auto& p = palette[c % palette.size()];
            figure.s().scol0(tint(c), (p[0] + 3 * 255) / 4, (p[1] + 3 * 255) / 4, (p[2] + 3 * 255) / 4);
        }
        for (std::size_t i = 0; i < resolution; ++i)
            for (std::size_t j = 0; j < resolution;) {
                const std::size_t c = predicted[i * resolution + j];
                std::size_t end = j + 1;
                while (end < resolution && predicted[i * resolution + end] == c) ++end;
                const double left = x.low + static_cast<double>(i) * dx, right = left + dx;
                const double bottom = y.low + static_cast<double>(j) * dy, top = y.low + static_cast<double>(end) * dy;
                std::array<PLFLT, 4> xs = {left, right, right, left}, ys = {bottom, bottom, top, top};
                figure.s().col0(tint(c));
                figure.s().fill(4, xs.data(), ys.data());
                j = end;
            }
        std::vector<LegendEntry> legend;
        for (std::size_t c = 0; c < classes; ++c) {
            std::vector<PLFLT> px, py;
            for (std::size_t i = 0; i < data.size(); ++i)
                if (data.labels[i] == c) {
                    px.push_back(data.inputs(i, 0));
                    py.push_back(data.inputs(i, 1));
                }
            figure.points(px, py, colour(c));
            legend.push_back({fmt::format("class {}", c), colour(c), 0});
        }
        figure.s().col0(ink);
        figure.s().box("bcst", 0.0, 0, "bcst", 0.0, 0);
        figure.legend(legend);
    });
}

}  // namespace xg::plot
