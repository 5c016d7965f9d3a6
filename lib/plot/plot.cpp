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
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

namespace xg::plot {

namespace {

// cmap0: 0 background, 1 ink, 2 grid, then the series colours (matplotlib's "tab10"), their tints, the legend's
// background, then the colours a plot asks for.
constexpr int ink = 1, grid = 2, first_colour = 3, first_tint = 13, legend_background = 23, first_extra = 24;
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
    // Widened by matplotlib's 5% margin, so no line runs along the frame, and never empty.
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

// "#rrggbb" as (r, g, b); nullopt when it is not that.
std::optional<std::array<int, 3>> parse_colour(const std::string& text) {
    if (text.size() != 7 || text[0] != '#') return std::nullopt;
    std::array<int, 3> rgb{};
    for (std::size_t i = 0; i < 3; ++i) {
        int value = 0;
        for (std::size_t k = 1 + 2 * i; k < 3 + 2 * i; ++k) {
            const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[k])));
            if (c >= '0' && c <= '9') value = 16 * value + (c - '0');
            else if (c >= 'a' && c <= 'f') value = 16 * value + (c - 'a' + 10);
            else return std::nullopt;
        }
        rgb[i] = value;
    }
    return rgb;
}

// The options' limits, size and dpi, refused with the option and its value named.
void check_options(const char* op, const std::string& path, const ChartOptions& o) {
    const auto check_limits = [&](const char* name, const std::optional<std::pair<double, double>>& limits, bool log) {
        if (!limits) return;
        const auto [low, high] = *limits;
        if (!std::isfinite(low) || !std::isfinite(high) || !(low < high))
            throw Error(fmt::format("{}: '{}': {} ({}, {}) must be finite with low < high", op, path, name, low, high));
        if (log && !(low > 0.0))
            throw Error(fmt::format("{}: '{}': {} ({}, {}) must be positive on a log axis", op, path, name, low, high));
    };
    check_limits("x_limits", o.x_limits, o.log_x);
    check_limits("y_limits", o.y_limits, o.log_y);
    if (o.figure_size) {
        const auto [width, height] = *o.figure_size;
        if (!(width > 0.0 && height > 0.0 && width <= 100.0 && height <= 100.0))
            throw Error(fmt::format("{}: '{}': figure_size ({}, {}) must be positive inches, at most 100", op, path,
                                    width, height));
    }
    if (!(o.dpi > 0.0 && o.dpi <= 1200.0))
        throw Error(fmt::format("{}: '{}': dpi {} must be positive, at most 1200", op, path, o.dpi));
}

// An axis's window: the limits when given (as log10 on a log axis), else the data's range with a margin.
Range window(const std::optional<std::pair<double, double>>& limits, bool log, Range data, double margin = 0.05) {
    if (!limits) return data.padded(margin);
    return log ? Range{std::log10(limits->first), std::log10(limits->second)} : Range{limits->first, limits->second};
}

struct LegendEntry {
    std::string label;
    int colour;
    int style = 1;          // PLplot line style; 0: a symbol instead of a line
    bool marked = false;    // a symbol on the line too
};

// PLplot sizes text, ticks and symbols in proportion to the page (the mean of its width and height); figures
// here keep them at one physical size, as matplotlib does, by scaling them back. Reference: a 900 × 600 page.
constexpr double reference_page_mean = 750.0;
// Page units per inch of a vector drawing: an SVG page of 900 × 600 units is 6.25 × 4.17 inches, and PLplot's
// default text there is 18 units, 9 pt.
constexpr double vector_units_per_inch = 144.0;

struct Size {
    double width, height;  // inches
};

// PLplot unloads its drivers when its last stream ends, and a program that then draws again after a PNG crashes
// in libltdl (lt_dlexit runs a second time over a freed loader list). One idle stream, ended only at exit, keeps
// the drivers loaded until then, so they are unloaded once.
void keep_drivers_loaded() { static const plstream idle; }

// About how many characters the longest of an axis's tick labels has: PLplot writes as many decimals as its tick
// step, about a fifth of the span, needs.
int tick_label_chars(Range axis) {
    const double span = axis.high - axis.low;
    if (!(span > 0.0)) return 4;
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(span / 5.0))));
    int widest = 1;
    for (double end : {axis.low, axis.high}) {
        const double magnitude = std::abs(end);
        const int digits = magnitude >= 1.0 ? static_cast<int>(std::floor(std::log10(magnitude))) + 1 : 1;
        widest = std::max(widest, digits + (end < 0.0 ? 1 : 0) + (decimals > 0 ? decimals + 1 : 0));
    }
    return widest;
}

// One PLplot stream drawing into a file, with our colours, panels laid out columns × rows under a figure title.
class Figure {
public:
    Figure(std::FILE* file, const std::string& device, Size size, double dpi, int columns = 1, int rows = 1,
           const std::vector<std::array<int, 3>>& extra_colours = {}, bool figure_title = false)
        : columns_(columns), rows_(rows), size_(size), dpi_(dpi), extra_colours_(extra_colours),
          title_band_(figure_title ? 0.07 : 0.0) {
        keep_drivers_loaded();
        const double units_per_inch = device == "pngcairo" ? dpi : vector_units_per_inch;
        width_ = std::max(1, static_cast<int>(std::lround(size.width * units_per_inch)));
        height_ = std::max(1, static_cast<int>(std::lround(size.height * units_per_inch)));
        unit_ = units_per_inch / vector_units_per_inch;
        scale_ = unit_ * reference_page_mean / (0.5 * (width_ + height_));
        stream_ = std::make_unique<plstream>();
        stream_->sdev(device.c_str());
        if (file) stream_->sfile(file);
        stream_->spage(0.0, 0.0, width_, height_, 0, 0);
        stream_->scmap0n(first_extra + static_cast<int>(extra_colours.size()));
        stream_->scolbg(255, 255, 255);
        stream_->scol0(ink, 30, 30, 30);
        stream_->scol0(grid, 225, 225, 225);
        for (std::size_t i = 0; i < palette.size(); ++i)
            stream_->scol0(colour(i), palette[i][0], palette[i][1], palette[i][2]);
        // matplotlib's legend frame: white at 80% opacity, so what runs under it still shows.
        stream_->scol0a(legend_background, 255, 255, 255, 0.8);
        for (std::size_t i = 0; i < extra_colours.size(); ++i)
            stream_->scol0(first_extra + static_cast<int>(i), extra_colours[i][0], extra_colours[i][1],
                           extra_colours[i][2]);
        stream_->init();
        stream_->fontld(1);
        stream_->schr(0.0, 0.9 * scale_);
        stream_->ssym(0.0, scale_);
        stream_->smaj(0.0, scale_);
        stream_->smin(0.0, scale_);
        // Counts up to 999999 as plain numbers: no "(x10⁴)" floating beside the axis.
        stream_->syax(6, 0);
    }

    plstream& s() { return *stream_; }
    double unit() const { return unit_; }

    // The next panel with axes, grid and labels over the given window (x, y given as log10 when log_x, log_y).
    // x_tick is the spacing of the x labels; 0 lets PLplot choose.
    void panel(Range x, Range y, const ChartOptions& o, double x_tick = 0.0) {
        plstream& p = *stream_;
        if (panel_ == 0) p.adv(0);
        // The y label clears the widest tick label: "30000" needs more room than "0.5".
        y_label_offset_ = o.log_y ? 5.0 : 1.6 + 0.85 * static_cast<double>(tick_label_chars(y));
        place(panel_++);
        p.wind(x.low, x.high, y.low, y.high);
        window_x_ = x;
        window_y_ = y;
        drawn_.clear();
        p.col0(grid);
        p.width(0.5 * unit_);
        p.box(o.log_x ? "gl" : "g", x_tick, 0, o.log_y ? "gl" : "g", 0.0, 0);
        p.col0(ink);
        p.width(unit_);
        p.box(o.log_x ? "bcnstl" : "bcnst", x_tick, 0, o.log_y ? "bcnstvl" : "bcnstv", 0.0, 0);
        p.lab(o.x_label.c_str(), "", o.title.c_str());
        p.mtex("l", y_label_offset_, 0.5, 0.5, o.y_label.c_str());
    }

    // The figure's title, centred above all its panels.
    void figure_title(const std::string& title) {
        plstream& p = *stream_;
        p.vpor(0.0, 1.0, 0.0, 1.0 - title_band_);
        p.wind(0.0, 1.0, 0.0, 1.0);
        p.col0(ink);
        p.schr(0.0, 1.2 * scale_);
        p.mtex("t", 1.2, 0.5, 0.5, title.c_str());
        p.schr(0.0, 0.9 * scale_);
    }

    void line(const std::vector<double>& x, const std::vector<double>& y, int c, int style = 1, double width = 2.0,
              bool marked = false) {
        const auto [xs, ys] = finite_points(x, y);
        if (xs.empty()) return;
        // A line through one point has no length: the point is drawn instead.
        if (marked || xs.size() == 1) points(xs, ys, c);
        remember(xs, ys, true);
        stream_->col0(c);
        stream_->lsty(style);
        stream_->width(width * unit_);
        stream_->line(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
        stream_->lsty(1);
        stream_->width(unit_);
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
        if (entries.empty()) return;
        legend_on(*stream_, entries, best_corner(entries).corner, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
                  scale_, unit_);
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
    // The viewport of panel k: its cell of the grid below the title band, less margins for the tick labels and
    // axis labels (PLplot's plvsta's, in character heights).
    void place(int k) {
        plstream& p = *stream_;
        PLFLT default_height = 0, height = 0, x0 = 0, x1 = 0, y0 = 0, y1 = 0;
        p.gchr(default_height, height);
        p.gspa(x0, x1, y0, y1);
        const double page_width = x1 - x0, page_height = y1 - y0;  // mm
        const double cell_width = 1.0 / columns_, cell_height = (1.0 - title_band_) / rows_;
        const double left = (k % columns_) * cell_width;
        const double top = 1.0 - title_band_ - (k / columns_) * cell_height;
        p.vpor(left + (y_label_offset_ + 3.0) * height / page_width, left + cell_width - 5.0 * height / page_width,
               top - cell_height + 5.0 * height / page_height, top - 5.0 * height / page_height);
    }

    // Width and height of the legend in the panel's normalized units, as PLplot lays it out: measured by drawing
    // it in the same page and panel geometry on PLplot's null device, which draws nothing.
    std::pair<double, double> legend_size(const std::vector<LegendEntry>& entries) const {
        Figure measure(nullptr, "null", size_, dpi_, columns_, rows_, extra_colours_, title_band_ > 0.0);
        measure.s().adv(0);
        measure.y_label_offset_ = y_label_offset_;
        measure.place(panel_ - 1);
        measure.s().wind(window_x_.low, window_x_.high, window_y_.low, window_y_.high);
        // Without its background, which the null device would warn it cannot fill; the size is the same.
        return legend_on(measure.s(), entries, PL_POSITION_TOP | PL_POSITION_RIGHT, PL_LEGEND_BOUNDING_BOX,
                         measure.scale_, measure.unit_);
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
                                               PLINT position, PLINT box, double scale, double unit) {
        const auto n = static_cast<PLINT>(entries.size());
        std::vector<PLINT> options, colours, styles, symbol_numbers;
        std::vector<PLFLT> widths, symbol_scales;
        std::vector<const char*> texts, symbols;
        for (const LegendEntry& e : entries) {
            options.push_back(e.style == 0 ? PL_LEGEND_SYMBOL
                                           : PL_LEGEND_LINE | (e.marked ? PL_LEGEND_SYMBOL : 0));
            colours.push_back(e.colour);
            styles.push_back(std::max(e.style, 1));
            widths.push_back(2.0 * unit);
            symbol_scales.push_back(scale);
            symbol_numbers.push_back(1);
            texts.push_back(e.label.c_str());
            symbols.push_back(circle);
        }
        std::vector<PLINT> text_colours(entries.size(), ink);
        PLFLT legend_width = 0, legend_height = 0;
        stream.legend(&legend_width, &legend_height, box, position,
                      legend_offset, legend_offset, 0.08, legend_background, grid, 1, 0, 0, n, options.data(), 1.0,
                      0.8 * scale, 1.6, 0.0, text_colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr,
                      colours.data(), styles.data(), widths.data(), colours.data(), symbol_scales.data(),
                      symbol_numbers.data(), symbols.data());
        return {legend_width, legend_height};
    }

    std::unique_ptr<plstream> stream_;
    int columns_, rows_, width_ = 0, height_ = 0, panel_ = 0;
    Size size_;
    double dpi_;
    std::vector<std::array<int, 3>> extra_colours_;
    double title_band_;
    double y_label_offset_ = 5.0;  // of the y label from the axis, in character heights
    double unit_ = 1.0;   // line widths' scale: device units per 1/144 inch
    double scale_ = 1.0;  // text, tick and symbol scale that undoes PLplot's scaling with the page
    Range window_x_, window_y_;
    std::vector<std::pair<double, double>> drawn_;
};

// A region's piece, filled and outlined in its colour: pieces that only abut would let the background show
// through a hairline seam where an anti-aliasing renderer blends their edges.
void fill_outlined(PLINT n, const PLFLT* x, const PLFLT* y) {
    plfill(n, x, y);
    std::vector<PLFLT> xs(x, x + n), ys(y, y + n);
    xs.push_back(x[0]);
    ys.push_back(y[0]);
    plline(n + 1, xs.data(), ys.data());
}

Size size_of(const ChartOptions& options, Size fallback) {
    return options.figure_size ? Size{options.figure_size->first, options.figure_size->second} : fallback;
}

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

// An SVG's width or height attribute: PLplot writes the page's units as pt; the figure's inches are 72 pt each.
void set_svg_length(std::string& svg, const std::string& attribute, double inches) {
    const std::size_t root = svg.find("<svg");
    if (root == std::string::npos) return;
    const std::size_t at = svg.find(attribute + "=\"", root);
    if (at == std::string::npos) return;
    const std::size_t begin = at + attribute.size() + 2, end = svg.find('"', begin);
    svg.replace(begin, end - begin, fmt::format("{:g}pt", 72.0 * inches));
}

// Draws a figure of the given size into memory, then saves the drawing as `path`.
template <class Draw>
void draw_file(const char* op, const std::string& path, Size size, double dpi, Draw draw) {
    const std::string device = device_for(op, path);
    if (device == "pngcairo" && std::max(size.width, size.height) * dpi > 20000.0)
        throw Error(fmt::format("{}: '{}': figure_size ({}, {}) at dpi {} is {:.0f} × {:.0f} pixels; at most 20000 "
                                "a side",
                                op, path, size.width, size.height, dpi, size.width * dpi, size.height * dpi));
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
    if (device == "svg") {
        set_svg_length(drawing.bytes, "width", size.width);
        set_svg_length(drawing.bytes, "height", size.height);
    }
    write_file(op, path, drawing.bytes);
}

}  // namespace

void line_chart(const std::vector<Series>& series, const std::string& path, const ChartOptions& options) {
    check_options("line_chart", path, options);
    Range x, y;
    // The values as drawn: log10 on a log axis, where values ≤ 0 have no place.
    std::vector<std::vector<double>> drawn_x, drawn_y;
    // Each series' colour: its own, else the next of the cycle, which only the series without one advance.
    std::vector<int> colours;
    std::vector<std::array<int, 3>> extra;
    std::size_t cycle = 0;
    for (const Series& s : series) {
        if (s.x.size() != s.y.size())
            throw Error(fmt::format("line_chart: '{}': series '{}' has {} x values and {} y values", path, s.label,
                                    s.x.size(), s.y.size()));
        if (s.colour.empty()) {
            colours.push_back(colour(cycle++));
        } else {
            const auto rgb = parse_colour(s.colour);
            if (!rgb)
                throw Error(fmt::format("line_chart: '{}': series '{}' has colour '{}'; use \"#rrggbb\"", path,
                                        s.label, s.colour));
            const auto known = std::find(extra.begin(), extra.end(), *rgb);
            colours.push_back(first_extra + static_cast<int>(known - extra.begin()));
            if (known == extra.end()) extra.push_back(*rgb);
        }
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
        if (!series[i].label.empty()) legend.push_back({series[i].label, colours[i], series[i].points ? 0 : 1});
    const Size size = size_of(options, {6.4, 4.8});
    const auto draw = [&](Figure& figure, Range y_window) {
        figure.panel(window(options.x_limits, options.log_x, x), y_window, options);
        for (std::size_t i = 0; i < series.size(); ++i) {
            if (series[i].points)
                figure.points(drawn_x[i], drawn_y[i], colours[i]);
            else
                figure.line(drawn_x[i], drawn_y[i], colours[i]);
        }
    };
    // When every corner of the panel would hide some of the data, the y window grows at the top by the legend's
    // height, so the legend has a free band to sit in. Drawn first on PLplot's null device to find out. Limits
    // the caller set are kept as they are.
    Range y_window = window(options.y_limits, options.log_y, y);
    if (!legend.empty() && !options.y_limits) {
        Figure trial(nullptr, "null", size, options.dpi, 1, 1, extra);
        draw(trial, y_window);
        const Figure::Corner corner = trial.best_corner(legend);
        if (corner.covered > 0) {
            const double band = corner.height + 2.0 * Figure::legend_offset;
            y_window.high += (y_window.high - y_window.low) * band / (1.0 - band);
        }
    }
    draw_file("line_chart", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi, 1, 1, extra);
        draw(figure, y_window);
        figure.legend(legend);
    });
}

void learning_curves(const History& history, const std::string& path, const ChartOptions& options) {
    check_options("learning_curves", path, options);
    if (options.log_x)
        throw Error(fmt::format("learning_curves: '{}': the epoch axis has no log scale; log_y is the loss's", path));
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
        for (double v : {r.train_loss, r.validation_loss}) loss.add(options.log_y ? (v > 0 ? std::log10(v) : NAN) : v);
        for (double v : {r.train_accuracy, r.validation_accuracy}) accuracy.add(v);
    }
    if (options.log_y)
        for (std::vector<double>* values : {&train_loss, &validation_loss})
            for (double& v : *values) v = v > 0 ? std::log10(v) : NAN;
    if (x.low == x.high) x = {x.low - 0.5, x.high + 0.5};
    const Range x_window = window(options.x_limits, false, x);
    // Whole epochs on a short run's axis, not PLplot's 0.2 steps.
    const double x_tick = x_window.high - x_window.low < 8.0 ? 1.0 : 0.0;
    const bool has_accuracy = accuracy.low <= accuracy.high;
    // Each epoch is one measurement: on a short run the marks show where they are.
    const bool marked = history.epochs.size() <= 20;
    const std::string validation = history.validation_name;
    const std::string prefix = options.title.empty() ? "" : options.title + ": ";
    const std::string x_label = options.x_label.empty() ? "epoch" : options.x_label;
    const std::vector<LegendEntry> legend = {{"train", colour(0), 1, marked}, {validation, colour(1), 2, marked}};
    const Size size = size_of(options, {has_accuracy ? 11.0 : 6.4, 4.5});
    draw_file("learning_curves", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi, has_accuracy ? 2 : 1, 1);
        ChartOptions panel = options;
        panel.title = prefix + "loss";
        panel.x_label = x_label;
        panel.y_label = options.y_label.empty() ? "loss" : options.y_label;
        figure.panel(x_window, window(options.y_limits, options.log_y, loss), panel, x_tick);
        figure.line(epoch, train_loss, colour(0), 1, 2.0, marked);
        figure.line(epoch, validation_loss, colour(1), 2, 2.0, marked);
        figure.legend(legend);
        if (has_accuracy) {
            figure.panel(x_window, accuracy.padded(), {prefix + "accuracy", x_label, "accuracy"}, x_tick);
            figure.line(epoch, train_accuracy, colour(0), 1, 2.0, marked);
            figure.line(epoch, validation_accuracy, colour(1), 2, 2.0, marked);
            figure.legend(legend);
        }
    });
}

void lr_range_test(const FindLRResult& result, const std::string& path, const ChartOptions& options) {
    // The rate axis is always logarithmic, so its limits are checked as such.
    ChartOptions o = options;
    o.log_x = true;
    check_options("lr_range_test", path, o);
    if (result.lrs.empty()) throw Error(fmt::format("lr_range_test: '{}': the result has no steps", path));
    if (result.smoothed_losses.size() != result.lrs.size())
        throw Error(fmt::format("lr_range_test: '{}': the result has {} rates and {} smoothed losses", path,
                                result.lrs.size(), result.smoothed_losses.size()));
    std::vector<double> log_lr, loss;
    Range x, y;
    for (std::size_t i = 0; i < result.lrs.size(); ++i) {
        log_lr.push_back(result.lrs[i] > 0 ? std::log10(result.lrs[i]) : NAN);
        const double v = result.smoothed_losses[i];
        loss.push_back(options.log_y ? (v > 0 ? std::log10(v) : NAN) : v);
        x.add(log_lr.back());
        y.add(loss.back());
    }
    if (o.title.empty()) o.title = "learning-rate range test";
    if (o.x_label.empty()) o.x_label = "learning rate";
    if (o.y_label.empty()) o.y_label = "smoothed loss";
    const Range x_window = window(o.x_limits, true, x), y_window = window(o.y_limits, o.log_y, y);
    const Size size = size_of(options, {6.4, 4.8});
    draw_file("lr_range_test", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi);
        figure.panel(x_window, y_window, o);
        figure.line(log_lr, loss, colour(0));
        const double suggested = std::log10(result.suggested_lr);
        figure.line({suggested, suggested}, {y_window.low, y_window.high}, colour(3), 2, 1.5);
        figure.legend({{"smoothed loss", colour(0)},
                       {fmt::format("suggested lr {:.3g}", result.suggested_lr), colour(3), 2}});
    });
}

void roc_curve(const metrics::RocCurve& roc, const std::string& path, const ChartOptions& options) {
    check_options("roc_curve", path, options);
    if (options.log_x || options.log_y)
        throw Error(fmt::format("roc_curve: '{}': the rates' unit square has no log axes", path));
    if (roc.fpr.size() < 2 || roc.fpr.size() != roc.tpr.size())
        throw Error(fmt::format("roc_curve: '{}': the curve needs at least two points", path));
    ChartOptions o = options;
    if (o.title.empty()) o.title = "ROC curve";
    if (o.x_label.empty()) o.x_label = "false positive rate (FPR)";
    if (o.y_label.empty()) o.y_label = "true positive rate (TPR, recall)";
    const Range unit_square{0.0, 1.0};
    const Size size = size_of(options, {5.0, 4.6});
    draw_file("roc_curve", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi);
        figure.panel(window(o.x_limits, false, unit_square), window(o.y_limits, false, unit_square), o);
        figure.line({0.0, 1.0}, {0.0, 1.0}, colour(7), 2, 1.0);
        figure.line(roc.fpr, roc.tpr, colour(0));
        figure.legend({{fmt::format("AUC = {:.4f}", roc.auc), colour(0)}, {"chance", colour(7), 2}});
    });
}

void histograms(const Named<Var>& arrays, const std::string& path, std::size_t bins, const ChartOptions& options) {
    check_options("histograms", path, options);
    if (options.log_x)
        throw Error(fmt::format("histograms: '{}': the bins are even in value, so x has no log scale; log_y is the "
                                "counts'",
                                path));
    if (arrays.empty()) throw Error(fmt::format("histograms: '{}': nothing to plot", path));
    if (bins == 0) throw Error(fmt::format("histograms: '{}': bins must be positive", path));
    std::vector<std::vector<double>> values;
    Range range;
    for (const auto& [name, v] : arrays) {
        values.push_back(v.to_vector<double>());
        for (double x : values.back()) range.add(x);
    }
    if (options.x_limits) range = {options.x_limits->first, options.x_limits->second};
    if (!(range.low < range.high)) range = range.padded();
    const double step = (range.high - range.low) / static_cast<double>(bins);
    std::vector<std::vector<double>> counts(values.size(), std::vector<double>(bins, 0.0));
    Range count_range;
    for (std::size_t k = 0; k < values.size(); ++k) {
        for (double x : values[k]) {
            if (!(x >= range.low && x <= range.high)) continue;
            const auto b = std::min(bins - 1, static_cast<std::size_t>((x - range.low) / step));
            counts[k][b] += 1.0;
        }
        for (double c : counts[k]) count_range.add(options.log_y ? (c > 0 ? std::log10(c) : NAN) : c);
    }
    // Bars stand on the axis: no margin below them.
    Range y_window = window(options.y_limits, options.log_y, count_range);
    if (!options.y_limits) y_window.low = 0.0;
    const std::size_t columns = std::min<std::size_t>(arrays.size(), 3);
    const std::size_t rows = (arrays.size() + 2) / 3;
    const bool titled = !options.title.empty();
    const Size size = size_of(options, {3.6 * static_cast<double>(columns),
                                        3.2 * static_cast<double>(rows) + (titled ? 0.4 : 0.0)});
    draw_file("histograms", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi, static_cast<int>(columns), static_cast<int>(rows), {},
                      titled);
        ChartOptions panel = options;
        if (panel.x_label.empty()) panel.x_label = "value";
        for (std::size_t k = 0; k < arrays.size(); ++k) {
            panel.title = arrays[k].first;
            panel.y_label = k % columns == 0 ? (options.y_label.empty() ? "count" : options.y_label) : "";
            figure.panel(range, y_window, panel);
            figure.s().col0(colour(0));
            for (std::size_t b = 0; b < bins; ++b) {
                if (counts[k][b] == 0.0) continue;
                const double left = range.low + static_cast<double>(b) * step;
                const double top = options.log_y ? std::log10(counts[k][b]) : counts[k][b];
                std::array<PLFLT, 4> xs = {left, left + step, left + step, left};
                std::array<PLFLT, 4> ys = {y_window.low, y_window.low, top, top};
                figure.s().fill(4, xs.data(), ys.data());
            }
        }
        if (titled) figure.figure_title(options.title);
    });
}

void decision_boundary(nn::Module& model, const data::Dataset& data, const std::string& path,
                       const ChartOptions& options, std::size_t resolution) {
    check_options("decision_boundary", path, options);
    if (data.inputs.dimension() != 2 || data.inputs.shape(1) != 2 || !data.is_classification())
        throw Error(fmt::format("decision_boundary: '{}': needs a classification dataset with 2 features, got inputs {}",
                                path, to_string(data.inputs.shape())));
    if (resolution < 2) throw Error(fmt::format("decision_boundary: '{}': resolution must be at least 2", path));
    if (options.log_x || options.log_y)
        throw Error(fmt::format("decision_boundary: '{}': the plane of the features has no log axes", path));
    Range x, y;
    for (std::size_t i = 0; i < data.size(); ++i) {
        x.add(data.inputs(i, 0));
        y.add(data.inputs(i, 1));
    }
    x = window(options.x_limits, false, x, 0.1);
    y = window(options.y_limits, false, y, 0.1);

    // The model's scores at the grid's points, corners included.
    const std::size_t n = resolution;
    data::Dataset grid_points;
    grid_points.inputs = xt::xarray<float>::from_shape({n * n, 2});
    const double dx = (x.high - x.low) / static_cast<double>(n - 1);
    const double dy = (y.high - y.low) / static_cast<double>(n - 1);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            grid_points.inputs(i * n + j, 0) = static_cast<float>(x.low + static_cast<double>(i) * dx);
            grid_points.inputs(i * n + j, 1) = static_cast<float>(y.low + static_cast<double>(j) * dy);
        }
    const Var scores = predict(model, grid_points);
    const std::vector<double> flat = scores.to_vector<double>();
    const std::size_t outputs = flat.size() / (n * n);
    const std::size_t classes = std::max<std::size_t>(data.num_classes, 2);
    if (outputs != 1 && outputs < classes)
        throw Error(fmt::format("decision_boundary: '{}': the model gives {} scores for {} classes", path, outputs,
                                classes));
    // Class c's margin at each grid point: its score less the best other one (for one logit, ±the logit), positive
    // where c is predicted. PLplot fills where it is positive, placing the edge between grid points where the
    // margin crosses 0, which traces the boundary smoothly.
    const auto margin = [&](std::size_t c, std::size_t point) {
        const double* s = flat.data() + point * outputs;
        if (outputs == 1) return c == 1 ? s[0] : -s[0];
        double best_other = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < outputs; ++k)
            if (k != c) best_other = std::max(best_other, s[k]);
        return s[c] - best_other;
    };
    std::vector<std::vector<PLFLT>> field(n, std::vector<PLFLT>(n));
    std::vector<PLFLT*> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = field[i].data();

    ChartOptions o = options;
    if (o.x_label.empty()) o.x_label = "x1";
    if (o.y_label.empty()) o.y_label = "x2";
    const Size size = size_of(options, {5.6, 4.8});
    draw_file("decision_boundary", path, size, options.dpi, [&](std::FILE* file, const std::string& device) {
        Figure figure(file, device, size, options.dpi);
        figure.panel(x, y, o);
        for (std::size_t c = 0; c < classes; ++c) {
            const auto& p = palette[c % palette.size()];
            figure.s().scol0(tint(c), (p[0] + 3 * 255) / 4, (p[1] + 3 * 255) / 4, (p[2] + 3 * 255) / 4);
        }
        // The class predicted at most grid points fills the whole panel first, in one rectangle; only the others
        // are traced, which keeps the SVG small and leaves no gap where three regions meet.
        std::vector<std::size_t> votes(classes, 0);
        for (std::size_t point = 0; point < n * n; ++point)
            for (std::size_t c = 0; c < classes; ++c) votes[c] += margin(c, point) > 0.0;
        const auto base = static_cast<std::size_t>(std::max_element(votes.begin(), votes.end()) - votes.begin());
        std::array<PLFLT, 4> corners_x = {x.low, x.high, x.high, x.low}, corners_y = {y.low, y.low, y.high, y.high};
        figure.s().col0(tint(base));
        figure.s().fill(4, corners_x.data(), corners_y.data());
        for (std::size_t c = 0; c < classes; ++c) {
            if (c == base || votes[c] == 0) continue;
            double highest = 0.0;
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    const double m = margin(c, i * n + j);
                    field[i][j] = std::isfinite(m) ? m : 0.0;
                    highest = std::max(highest, field[i][j]);
                }
            // The pen width, sh_width, is the outline's.
            figure.s().shade(rows.data(), static_cast<PLINT>(n), static_cast<PLINT>(n), nullptr, x.low, x.high,
                             y.low, y.high, 0.0, highest + 1.0, 0, tint(c), 0.5 * figure.unit(), 0, 0.0, 0, 0.0,
                             fill_outlined, true, nullptr, nullptr);
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
