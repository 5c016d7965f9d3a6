#!/usr/bin/env python3
"""The wall around the engine: only the autograd core (lib/autograd/) and the op files (lib/ops/) may see the
engine's internals. Everything above the ops (nn, optim, io, data, train, metrics, plot) uses public headers and
Var's public interface, so a change to Node, the tape or the dtype variant stays inside those two folders.

Fails, naming file and line, when a file elsewhere under lib/ includes an engine-internal header or reaches
into a graph node through Var::node()."""
import pathlib
import re
import sys
import tempfile

engine = {"autograd", "ops"}
internal_headers = {"autograd/node.hpp", "ops/kernels.hpp", "ops/blas.hpp"}
include = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
node_access = re.compile(r"(\.|->)node\(\)")


def violations_in(lib):
    sources = sorted(p for p in lib.rglob("*") if p.suffix in {".cpp", ".hpp"})
    if not any(p.relative_to(lib).parts[0] in engine for p in sources):
        sys.exit(f"error: no engine files under {lib}; is that lib/?")
    found = []
    for path in sources:
        relative = path.relative_to(lib)
        if relative.parts[0] in engine:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = include.match(line)
            if match and match.group(1) in internal_headers:
                found.append(f"lib/{relative}:{number}: includes the engine-internal \"{match.group(1)}\"")
            if node_access.search(line.split("//")[0]):
                found.append(f"lib/{relative}:{number}: reaches into a graph node with node()")
    return sources, found


# The check must catch what it is for: a planted include and a planted node() in a file above the ops.
with tempfile.TemporaryDirectory() as planted:
    root = pathlib.Path(planted)
    (root / "autograd").mkdir()
    (root / "autograd" / "node.hpp").write_text("struct Node;\n")
    (root / "nn").mkdir()
    (root / "nn" / "layers.cpp").write_text('#include "autograd/node.hpp"\nint f(X x) { return x.node() != 0; }\n')
    _, planted_violations = violations_in(root)
    if len(planted_violations) != 2:
        sys.exit(f"error: the check found {planted_violations} in a tree with two planted violations")

lib = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "lib")
sources, violations = violations_in(lib)
for violation in violations:
    print(violation)
print(f"{len(sources)} files checked, {len(violations)} outside lib/autograd and lib/ops reach past the wall")
sys.exit(1 if violations else 0)
