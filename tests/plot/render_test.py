"""Renders every kind of plot (render_plots, small synthetic data) and the plots of the samples that run in a
second with small settings, then checks each SVG: it parses, its root has a size in pt, it draws data (a line, a
filled shape or a marker in a colour other than the frame's and the grid's), and its horizontal texts do not
overlap. Text extents are estimated from the font size (PLplot's SVG leaves the glyphs to the viewer): 0.55 em
a character, 0.7 em high, a little less than DejaVu Sans's digits, so a reported overlap is a real one.
crowded.svg is a thumbnail of five panels whose tick labels do overlap: the checker must say so.

usage: render_test.py RENDER_PLOTS [SAMPLES_DIR]"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
FRAME_COLOURS = {"#1E1E1E", "#E1E1E1", "#FFFFFF"}  # ink, grid, background


def samples(directory, out):
    """(program, arguments) of the samples that draw plots and finish in about a second with these settings."""
    runs = [
        ("optimizers", []),
        ("activations", []),
        ("classify_2d", ["--epochs", "3", "--points", "200"]),
        ("classify_2d", ["--epochs", "1", "--points", "200", "--dataset", "blobs"]),
        ("logistic_regression", ["--epochs", "20", "--points", "200"]),
        ("curve_fitting", ["--epochs", "5", "--points", "100"]),
        ("polynomial_regression", ["--heldout-points", "100"]),
        ("worked_numbers", []),
    ]
    if os.path.isdir("/usr/share/datasets/fashion-mnist"):
        runs.append(("fashion_mnist", ["--epochs", "1"]))
    mnist = os.environ.get("XGRAD_MNIST_DIR", "")
    if mnist and os.path.exists(os.path.join(mnist, "train-images-idx3-ubyte")):
        runs += [
            ("mnist_two_layer", ["--epochs", "1", "--find-lr", "--data-dir", mnist]),
            ("overfitting", ["--epochs", "3", "--train-size", "100", "--data-dir", mnist]),
            ("hyperparameter_search", ["--epochs", "2", "--trials", "6", "--images", "100", "--data-dir", mnist]),
        ]
    for k, (name, arguments) in enumerate(runs):
        yield [os.path.join(directory, name)] + arguments + ["--out", os.path.join(out, f"{name}_{k}")]


def colour_of(element):
    for attribute in ("stroke", "fill"):
        value = element.get(attribute, "none")
        if value != "none":
            return value.upper()
    return None


def draws_data(root):
    """True when some line, fill or marker is in a colour other than the frame's and the grid's."""
    for element in root.iter():
        tag = element.tag.replace(SVG, "")
        if tag == "polyline":
            points = element.get("points", "").split()
            filled = element.get("fill", "none") != "none"
            if (len(points) >= 2 or filled) and colour_of(element) not in FRAME_COLOURS:
                return True
        if tag == "text" and "\u25cb" in "".join(element.itertext()) and element.get("fill", "").upper() not in FRAME_COLOURS:
            return True
    return False


def text_boxes(root):
    """(label, x0, y0, x1, y1) of each horizontal text, in page units."""
    boxes = []
    for element in root.iter(SVG + "text"):
        label = "".join(element.itertext())
        if not label.strip() or label == "\u25cb":
            continue
        match = re.match(r"matrix\(([^)]*)\)", element.get("transform", ""))
        if not match:
            continue
        a, b, c, d, e, f = (float(v) for v in match.group(1).split())
        if abs(b) > 1e-6 or abs(c) > 1e-6:
            continue  # rotated: the y labels, alone on their side
        size = float(element.get("font-size", "0")) * abs(a)
        width, height = 0.55 * size * len(label), 0.7 * size
        anchor = element.get("text-anchor", "start")
        x0 = e - (width / 2 if anchor == "middle" else width if anchor == "end" else 0.0)
        y = f - d * float(element.get("y", "0"))
        boxes.append((label, x0, y - height / 2, x0 + width, y + height / 2))
    return boxes


def overlaps(root):
    boxes = text_boxes(root)
    found = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            p, q = boxes[i], boxes[j]
            if p[1] < q[3] and q[1] < p[3] and p[2] < q[4] and q[2] < p[4]:
                found.append(f"'{p[0]}' and '{q[0]}'")
    return found


def check(path):
    """The problems of one SVG, as sentences; none when it is fine."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        return [f"does not parse: {error}"]
    problems = []
    if root.tag != SVG + "svg":
        problems.append(f"root is {root.tag}, not svg")
    for attribute in ("width", "height"):
        value = root.get(attribute, "")
        if not re.fullmatch(r"[0-9.]+pt", value) or float(value[:-2]) <= 0:
            problems.append(f"{attribute} is '{value}', not a size in pt")
    if not draws_data(root):
        problems.append("draws no data")
    problems += [f"texts overlap: {pair}" for pair in overlaps(root)]
    return problems


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    failures = []
    with tempfile.TemporaryDirectory() as out:
        commands = [[sys.argv[1], out]]
        if len(sys.argv) == 3 and sys.argv[2]:
            commands += list(samples(sys.argv[2], out))
        for command in commands:
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{' '.join(command)} failed ({run.returncode}): {run.stdout}{run.stderr}")
        svgs = sorted(os.path.join(top, name) for top, _, names in os.walk(out) for name in names if name.endswith(".svg"))
        for path in svgs:
            name = os.path.relpath(path, out)
            problems = check(path)
            if name == "crowded.svg":
                if not any(p.startswith("texts overlap") for p in problems):
                    failures.append("crowded.svg: its crammed tick labels were not seen to overlap")
                continue
            failures += [f"{name}: {p}" for p in problems]
        print(f"checked {len(svgs)} SVGs from {len(commands)} programs")
    for failure in failures:
        print(failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
