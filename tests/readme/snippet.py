"""README's "A model in ..." program, which the suite builds and runs so that it cannot rot.

snippet.py extract README.md model.cpp   writes the section's first ```cpp block to model.cpp
snippet.py run PROGRAM                    runs it and checks that it trained (its last line: "loss L, accuracy A")
"""
import re
import subprocess
import sys

HEADING = "## A model in "


def extract(readme, output):
    lines = open(readme, encoding="utf-8").read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(HEADING)), None)
    if start is None:
        sys.exit(f"{readme} has no heading starting with {HEADING!r}")
    try:
        opening = next(i for i in range(start + 1, len(lines)) if lines[i] == "```cpp")
        closing = next(i for i in range(opening + 1, len(lines)) if lines[i] == "```")
    except StopIteration:
        sys.exit(f"{readme}: no complete ```cpp block after {lines[start]!r}")
    if any(line.startswith("## ") for line in lines[start + 1:opening]):
        sys.exit(f"{readme}: the section {lines[start]!r} has no ```cpp block of its own")
    with open(output, "w", encoding="utf-8") as out:
        out.write("\n".join(lines[opening + 1:closing]) + "\n")


def run(program):
    result = subprocess.run([program], capture_output=True, text=True, timeout=120)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        sys.exit(f"{program} exited with {result.returncode}")
    lines = result.stdout.strip().splitlines()
    match = re.fullmatch(r"loss (\S+), accuracy (\S+)", lines[-1]) if lines else None
    if not match:
        sys.exit('the last line is not "loss L, accuracy A"')
    loss, accuracy = float(match[1]), float(match[2])
    # Two classes start at a loss of about ln 2 = 0.693 and half right; 200 Adam steps on 64 points separable by a line
    # must do much better.
    if not (loss < 0.2 and accuracy >= 0.95):
        sys.exit(f"it did not train: loss {loss} (want < 0.2), accuracy {accuracy} (want >= 0.95)")
    print("trained")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "extract":
        extract(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    else:
        sys.exit(__doc__)
