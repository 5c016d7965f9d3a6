// Plots: every kind is written to a temporary directory and must parse as SVG (with Python's XML parser); the
// options reach the file (sizes, limits, colours, titles, one-epoch marks); bad paths, formats and options fail
// with a clear message and leave no file behind. plot_render (render_test.py) checks every plot's SVG further.
#include "check.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

using xg::Var;
namespace data = xg::data;
namespace nn = xg::nn;
namespace plot = xg::plot;
using check::TempDir;

namespace {

// True when Python's XML parser reads the file and its root element is <svg>.
bool parses_as_svg(const std::string& path) {
    const char* python = std::getenv("XGRAD_TEST_PYTHON");
    const std::string command = fmt::format(
        "{} -c \"import sys, xml.etree.ElementTree as ET; "
        "sys.exit(0 if ET.parse(sys.argv[1]).getroot().tag.endswith('svg') else 1)\" '{}'",
        python ? python : "python3", path);
    return std::system(command.c_str()) == 0;
}

xg::History history() {
    xg::History h;
    h.validation_name = "test";
    for (std::size_t e = 1; e <= 5; ++e)
        h.epochs.push_back({e, 0.1, 1.0 / static_cast<double>(e), 0.8 + 0.03 * static_cast<double>(e),
                            1.1 / static_cast<double>(e), 0.78 + 0.03 * static_cast<double>(e), 0.5, 10});
    return h;
}

// The x position (in SVG units, 0 at the left edge) where PLplot's SVG writes `label`: it writes text as one
// character reference per character inside an element placed by a transform matrix. NaN when absent.
double text_x(const std::string& path, const std::string& label) {
    std::ifstream in(path);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string encoded;
    for (unsigned char c : label) encoded += fmt::format("&#x{:x};", c);
    const std::size_t at = svg.find(encoded);
    if (at == std::string::npos) return std::nan("");
    const std::size_t matrix = svg.rfind("transform=\"matrix(", at);
    std::istringstream numbers(svg.substr(matrix + 18));
    double value = 0.0;
    for (int i = 0; i < 5; ++i) numbers >> value;  // a b c d e: e is the x translation
    return value;
}

// The SVG's page coordinates (y up from the bottom edge) of a text's placement, and of the points of its longest
// polyline in the given colour: what was drawn where.
struct Drawn {
    double text_y = std::nan("");
    std::vector<std::pair<double, double>> line;
};
Drawn drawn(const std::string& path, const std::string& label, const std::string& colour) {
    std::ifstream in(path);
    const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Drawn d;
    std::string encoded;
    for (unsigned char c : label) encoded += fmt::format("&#x{:x};", c);
    if (const std::size_t at = svg.find(encoded); at != std::string::npos) {
        std::istringstream numbers(svg.substr(svg.rfind("transform=\"matrix(", at) + 18));
        for (int i = 0; i < 6; ++i) numbers >> d.text_y;  // a b c d e f: f is the y translation
    }
    for (std::size_t at = svg.find("stroke=\"" + colour); at != std::string::npos;
         at = svg.find("stroke=\"" + colour, at + 1)) {
        const std::size_t begin = svg.find("points=\"", at) + 8, end = svg.find('"', begin);
        std::istringstream points(svg.substr(begin, end - begin));
        std::vector<std::pair<double, double>> line;
        double x = 0, y = 0;
        char comma = 0;
        while (points >> x >> comma >> y) line.emplace_back(x, y);
        if (line.size() > d.line.size()) d.line = line;
    }
    return d;
}

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// How PLplot's SVG writes a text: one character reference per character.
std::string encoded(const std::string& text) {
    std::string out;
    for (unsigned char c : text) out += fmt::format("&#x{:x};", c);
    return out;
}

// The scatter markers (PLplot's circle glyph, U+25CB) drawn in a colour.
std::size_t markers(const std::string& svg, const std::string& colour) {
    std::size_t n = 0;
    for (std::size_t at = svg.find("&#x25cb;"); at != std::string::npos; at = svg.find("&#x25cb;", at + 1)) {
        const std::size_t fill = svg.rfind("fill=\"" + colour + "\"", at);
        n += fill != std::string::npos && fill > svg.rfind("<text", at);
    }
    return n;
}

// A PNG's width and height, from its IHDR chunk (big-endian, after the 8-byte signature and the chunk header).
std::pair<std::uint32_t, std::uint32_t> png_size(const std::string& path) {
    const std::string png = read(path);
    REQUIRE(png.size() > 24);
    const auto word = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + i]);
        return v;
    };
    return {word(16), word(20)};
}

}  // namespace

TEST_CASE("the legend goes to the corner where it hides the fewest points; log axes drop what they cannot show") {
    TempDir dir;
    // Points fill a band along the bottom and the top half of one side, leaving the other top corner free; the
    // legend must go there (its first choice, top right, only when that corner is free).
    const auto crowded = [](bool right_half) {
        std::vector<double> x, y;
        for (int i = 0; i <= 20; ++i) {
            x.push_back(i / 20.0);
            y.push_back(0.0);
            for (int j = 0; j <= 4; ++j) {
                x.push_back(right_half ? 0.5 + i / 40.0 : i / 40.0);
                y.push_back(0.9 + j / 40.0);
            }
        }
        return xg::plot::Series{right_half ? "right crowd" : "left crowd", x, y, true};
    };
    plot::line_chart({crowded(true)}, dir / "right.svg");
    plot::line_chart({crowded(false)}, dir / "left.svg");
    const double right = text_x(dir / "right.svg", "right crowd"), left = text_x(dir / "left.svg", "left crowd");
    REQUIRE(!std::isnan(right));
    REQUIRE(!std::isnan(left));
    CHECK(right < 450.0);  // top left, of a 900-wide page
    CHECK(left > 450.0);   // top right

    // A zigzag touching all four corners leaves no corner free: the window grows at the top, and the legend sits
    // above every point of the line.
    std::vector<double> zig_x, zig_y;
    for (int i = 0; i <= 20; ++i) {
        zig_x.push_back(i / 20.0);
        zig_y.push_back(i % 2);
    }
    plot::line_chart({{"zigzag", zig_x, zig_y}}, dir / "zigzag.svg");
    const Drawn zigzag = drawn(dir / "zigzag.svg", "zigzag", "#1F77B4");
    REQUIRE(!std::isnan(zigzag.text_y));
    REQUIRE(zigzag.line.size() == 21);
    double top = 0.0;
    for (const auto& [px, py] : zigzag.line) top = std::max(top, py);
    // The label sits mid-legend; a one-line legend reaches about 10 units (of the 600-unit page) below it.
    CHECK(zigzag.text_y - top > 15.0);

    // log_y: zero and negative values are left out, the rest drawn on a log scale without error.
    plot::line_chart({{"errors", {1e-3, 1e-2, 1e-1, 1.0}, {0.0, 1e-6, 1e-4, -1.0}}}, dir / "log.svg",
                     {"log-log", "h", "error", true, true});
    CHECK(parses_as_svg(dir / "log.svg"));
}

TEST_CASE("each plot writes an SVG that parses") {
    TempDir dir;
    plot::learning_curves(history(), dir / "curves.svg", {"blobs"});
    CHECK(parses_as_svg(dir / "curves.svg"));

    plot::line_chart({{"a", {1, 10, 100}, {3, 2, 1}}, {"b", {1, 10, 100}, {1, 2, 3}}, {"c", {2, 20}, {2, 2}, true}},
                     dir / "lines.svg", {"title", "x", "y", true});
    CHECK(parses_as_svg(dir / "lines.svg"));

    xg::FindLRResult lr;
    for (int i = 0; i < 20; ++i) {
        lr.lrs.push_back(1e-4 * std::pow(2.0, i));
        lr.smoothed_losses.push_back(2.0 - 0.05 * i + 0.002 * i * i);
    }
    lr.losses = lr.smoothed_losses;
    lr.suggested_lr = lr.lrs[5];
    plot::lr_range_test(lr, dir / "lr.svg");
    CHECK(parses_as_svg(dir / "lr.svg"));

    plot::roc_curve(xg::metrics::roc_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), dir / "roc.svg");
    CHECK(parses_as_svg(dir / "roc.svg"));

    xg::Generator g(1);
    plot::histograms({{"layer 1", xg::rand({100, 10}, g)}, {"layer 2", xg::randn({50}, g)}}, dir / "hist.svg", 20);
    CHECK(parses_as_svg(dir / "hist.svg"));

    const data::Dataset moons = data::make_moons(60, g, 0.1);
    nn::Sequential model(nn::Linear(2, 8, g), nn::Tanh(), nn::Linear(8, 2, g));
    plot::decision_boundary(model, moons, dir / "boundary.svg", {"moons"}, 20);
    CHECK(parses_as_svg(dir / "boundary.svg"));
    CHECK(dir.files() ==
          std::vector<std::string>{"boundary.svg", "curves.svg", "hist.svg", "lines.svg", "lr.svg", "roc.svg"});
    std::ifstream in(dir / "curves.svg");
    const std::string svg{std::istreambuf_iterator<char>(in), {}};
    CHECK(svg.find("<text") != std::string::npos);  // labels are text, not strokes
}

TEST_CASE("plots fail clearly and leave nothing behind") {
    TempDir dir;
    CHECK_THROWS_WITH_AS(plot::learning_curves(history(), dir / "curves.txt"),
                         ("learning_curves: '" + (dir / "curves.txt") + "': unknown format '.txt'; use .svg or .png")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::learning_curves(history(), dir / "no/such/dir.svg"),
                         ("learning_curves: '" + (dir / "no/such/dir.svg") +
                          "': cannot create a temporary file next to it: No such file or directory")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::learning_curves(xg::History{}, dir / "empty.svg"),
                         ("learning_curves: '" + (dir / "empty.svg") + "': the history has no epochs").c_str(),
                         xg::Error);
    xg::Generator g(2);
    nn::Sequential model(nn::Linear(3, 2, g));
    CHECK_THROWS_WITH_AS(plot::decision_boundary(model, data::make_blobs(10, 2, 3, g), dir / "b.svg"),
                         ("decision_boundary: '" + (dir / "b.svg") +
                          "': needs a classification dataset with 2 features, got inputs (10, 3)")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::line_chart({{"a", {1, 2}, {1}}}, dir / "l.svg"),
                         ("line_chart: '" + (dir / "l.svg") + "': series 'a' has 2 x values and 1 y values").c_str(),
                         xg::Error);
    CHECK(dir.files().empty());
}

TEST_CASE("figure_size is an SVG's size in inches and, times dpi, a PNG's pixels") {
    TempDir dir;
    const std::vector<plot::Series> line = {{"a", {0, 1, 2}, {1, 3, 2}}};
    plot::line_chart(line, dir / "small.svg", {.figure_size = {{5.0, 2.5}}});
    const std::string svg = read(dir / "small.svg");
    CHECK(svg.find("width=\"360pt\"") != std::string::npos);
    CHECK(svg.find("height=\"180pt\"") != std::string::npos);
    plot::line_chart(line, dir / "default.svg");
    CHECK(read(dir / "default.svg").find("width=\"460.8pt\"") != std::string::npos);  // matplotlib's 6.4 inches

    plot::line_chart(line, dir / "coarse.png", {.figure_size = {{4.0, 3.0}}, .dpi = 50});
    CHECK(png_size(dir / "coarse.png") == std::pair<std::uint32_t, std::uint32_t>{200, 150});
    plot::roc_curve(xg::metrics::roc_curve({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), dir / "roc.png",
                    {.figure_size = {{4.0, 3.0}}, .dpi = 120});
    CHECK(png_size(dir / "roc.png") == std::pair<std::uint32_t, std::uint32_t>{480, 360});
    plot::learning_curves(history(), dir / "curves.png");  // 11 × 4.5 inches at the default 100 dpi
    CHECK(png_size(dir / "curves.png") == std::pair<std::uint32_t, std::uint32_t>{1100, 450});
}

TEST_CASE("limits set the axes; titles, colours and unlabelled series are drawn as asked") {
    TempDir dir;
    const std::vector<plot::Series> line = {{"a", {2.0, 2.5, 3.0}, {1.0, 2.0, 1.5}}};
    plot::line_chart(line, dir / "auto.svg");
    plot::line_chart(line, dir / "wide.svg", {.x_limits = {{0.0, 10.0}}, .y_limits = {{-5.0, 5.0}}});
    // Tick labels 10 and -4 exist only when the axes reach them.
    CHECK(std::isnan(text_x(dir / "auto.svg", "10")));
    CHECK(!std::isnan(text_x(dir / "wide.svg", "10")));
    CHECK(std::isnan(text_x(dir / "auto.svg", "-4")));
    CHECK(!std::isnan(text_x(dir / "wide.svg", "-4")));

    // A coloured series keeps its colour and leaves the cycle alone; one without a label is not in the legend.
    plot::line_chart({{"", {0, 1}, {0, 1}, false, "#123456"}, {"b", {0, 1}, {1, 0}}}, dir / "colours.svg");
    const std::string colours = read(dir / "colours.svg");
    CHECK(colours.find("stroke=\"#123456\"") != std::string::npos);
    CHECK(colours.find("stroke=\"#1F77B4\"") != std::string::npos);  // "b" takes the cycle's first colour
    CHECK(!std::isnan(text_x(dir / "colours.svg", "b")));

    xg::Generator g(3);
    plot::histograms({{"spike", xg::zeros({20000})}, {"spread", xg::randn({20000}, g)}}, dir / "hist.svg", 30,
                     {.title = "two arrays", .log_y = true});
    const std::string hist = read(dir / "hist.svg");
    CHECK(hist.find(encoded("two arrays")) != std::string::npos);
    CHECK(hist.find(encoded("(x10")) == std::string::npos);  // counts are plain numbers, no floating multiplier
}

TEST_CASE("a history of one epoch draws its points; a long one draws lines only") {
    TempDir dir;
    xg::History one = history();
    one.epochs.resize(1);
    plot::learning_curves(one, dir / "one.svg");
    const std::string svg = read(dir / "one.svg");
    // One train and one test point in each of the two panels, and a mark in each legend.
    CHECK(markers(svg, "#1F77B4") == 4);
    CHECK(markers(svg, "#FF7F0E") == 4);

    xg::History long_run;
    for (std::size_t e = 1; e <= 40; ++e) long_run.epochs.push_back({e, 0.1, 1.0 / e, 0.5, 1.0 / e, 0.5, 1.0, 10});
    plot::learning_curves(long_run, dir / "long.svg");
    CHECK(markers(read(dir / "long.svg"), "#1F77B4") == 0);

    // A line_chart series of one point is drawn as that point.
    plot::line_chart({{"alone", {1.0}, {2.0}}}, dir / "alone.svg");
    CHECK(markers(read(dir / "alone.svg"), "#1F77B4") == 1);
}

TEST_CASE("bad options fail with the option named and leave nothing behind") {
    TempDir dir;
    const std::vector<plot::Series> line = {{"a", {1, 2}, {1, 2}}};
    const auto message = [&](const char* op, const std::string& file, const std::string& rest) {
        return std::string(op) + ": '" + (dir / file) + "': " + rest;
    };
    CHECK_THROWS_WITH_AS(plot::line_chart(line, dir / "l.svg", {.x_limits = {{1.0, 1.0}}}),
                         message("line_chart", "l.svg", "x_limits (1, 1) must be finite with low < high").c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::line_chart(line, dir / "l.svg", {.y_limits = {{0.0, NAN}}}),
                         message("line_chart", "l.svg", "y_limits (0, nan) must be finite with low < high").c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::line_chart(line, dir / "l.svg", {.log_y = true, .y_limits = {{0.0, 1.0}}}),
                         message("line_chart", "l.svg", "y_limits (0, 1) must be positive on a log axis").c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::learning_curves(history(), dir / "c.svg", {.figure_size = {{0.0, 4.0}}}),
                         message("learning_curves", "c.svg", "figure_size (0, 4) must be positive inches, at most 100")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(
        plot::roc_curve(xg::metrics::roc_curve({0.1, 0.8}, {0, 1}), dir / "r.svg", {.dpi = 0.0}),
        message("roc_curve", "r.svg", "dpi 0 must be positive, at most 1200").c_str(), xg::Error);
    CHECK_THROWS_WITH_AS(plot::line_chart(line, dir / "big.png", {.figure_size = {{50.0, 40.0}}, .dpi = 1000}),
                         message("line_chart", "big.png",
                                 "figure_size (50, 40) at dpi 1000 is 50000 × 40000 pixels; at most 20000 a side")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::line_chart({{"a", {1}, {1}, false, "red"}}, dir / "l.svg"),
                         message("line_chart", "l.svg", "series 'a' has colour 'red'; use \"#rrggbb\"").c_str(),
                         xg::Error);
    xg::FindLRResult lr;
    lr.lrs = {0.01, 0.1, 1.0};
    lr.smoothed_losses = {2.0, 1.0, 3.0};
    lr.suggested_lr = 0.1;
    CHECK_THROWS_WITH_AS(plot::lr_range_test(lr, dir / "lr.svg", {.x_limits = {{0.0, 1.0}}}),
                         message("lr_range_test", "lr.svg", "x_limits (0, 1) must be positive on a log axis").c_str(),
                         xg::Error);
    lr.smoothed_losses.pop_back();
    CHECK_THROWS_WITH_AS(plot::lr_range_test(lr, dir / "lr.svg"),
                         message("lr_range_test", "lr.svg", "the result has 3 rates and 2 smoothed losses").c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::learning_curves(history(), dir / "c.svg", {.log_x = true}),
                         message("learning_curves", "c.svg", "the epoch axis has no log scale; log_y is the loss's")
                             .c_str(),
                         xg::Error);
    CHECK_THROWS_WITH_AS(plot::roc_curve(xg::metrics::roc_curve({0.1, 0.8}, {0, 1}), dir / "r.svg", {.log_y = true}),
                         message("roc_curve", "r.svg", "the rates' unit square has no log axes").c_str(), xg::Error);
    CHECK_THROWS_WITH_AS(plot::histograms({{"a", xg::Var(xt::xarray<double>{1.0, 2.0})}}, dir / "h.svg", 10,
                                          {.log_x = true}),
                         message("histograms", "h.svg",
                                 "the bins are even in value, so x has no log scale; log_y is the counts'")
                             .c_str(),
                         xg::Error);
    xg::Generator g(4);
    nn::Sequential model(nn::Linear(2, 2, g));
    CHECK_THROWS_WITH_AS(plot::decision_boundary(model, data::make_moons(20, g, 0.1), dir / "b.svg", {.log_x = true}),
                         message("decision_boundary", "b.svg", "the plane of the features has no log axes").c_str(),
                         xg::Error);
    CHECK(dir.files().empty());
}
