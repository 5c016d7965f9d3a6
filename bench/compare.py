"""xgrad against PyTorch and against the GEMM floor, epoch time and test accuracy of MLPs on real MNIST (60k
training, 10k test, float32), at 1 and 2 threads. Each repetition runs the three programs one after the other,
each in its own process, so that a slow spell of a shared machine hits all three:
  the floor: build/bench/gemm_floor, the epoch's matrix products alone on OpenBLAS (at 2 threads the better of
             OpenBLAS's threads and two single-threaded halves of the batch); and the floor with rows, the same
             plus shuffling and copying each batch's rows out of the training set, which every trainer does;
  xgrad:     build/bench/mlp_epoch, xg::fit;
  PyTorch:   bench/mlp_epoch.py, the same network, lr, batch and epochs.
s/epoch is the best epoch over all repetitions. --cnn instead compares the book's SimpleConvNet (conv 30@5x5, ReLU,
max-pool 2, 4320-100, ReLU, 100-10; Adam lr 0.001, batch 100): build/bench/conv_floor (its im2col GEMMs),
build/bench/cnn_epoch and bench/cnn_epoch.py. --memory instead measures the resident memory that training steps
of 784-1000-1000-10 at batch 1024 add, xgrad against PyTorch.

After a release build with -Dbench=true, from the repository root:
  /usr/bin/python3 bench/compare.py [--repetitions 3] [--epochs 3] [--networks 784-50-10,...] [--threads 1,2]
  /usr/bin/python3 bench/compare.py --cnn [--repetitions 3] [--epochs 3] [--threads 1,2]
  /usr/bin/python3 bench/compare.py --memory [--steps 20]
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field


@dataclass
class Network:
    layers: str
    activation: str
    batch: int
    lr: float
    # Fewer epochs than --epochs for the slow network, to keep the default run short.
    max_epochs: int = 0

    @property
    def name(self):
        return self.layers.replace(",", "-")

    def flags(self):
        return ["--layers", self.layers, "--activation", self.activation, "--batch", str(self.batch),
                "--lr", str(self.lr)]


NETWORKS = [
    Network("784,50,10", "relu", 100, 0.1),
    Network("784,100,10", "relu", 100, 0.1),
    Network("784,64,16,10", "sigmoid-tanh", 128, 0.2),
    Network("784,1000,1000,10", "relu", 128, 0.05, max_epochs=2),
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"  # Debian's, which has torch


def mnist_directory():
    """Where xgrad's load_mnist looks by default (xg::data::cache_directory)."""
    if os.environ.get("XGRAD_DATA_DIR"):
        return os.path.join(os.environ["XGRAD_DATA_DIR"], "mnist")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(cache, "xgrad", "mnist")


# The 1-minute load average before each run, by thread count: on a shared machine, a load above the runs' own
# threads means other processes took cores from them.
loads = {}


def run(command, threads):
    """Runs `command` with `threads` BLAS and OpenMP threads, echoing it; returns its output lines."""
    loads.setdefault(threads, []).append(os.getloadavg()[0])
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    print(f"$ OPENBLAS_NUM_THREADS={threads} OMP_NUM_THREADS={threads} {shlex.join(command)}", flush=True)
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {shlex.join(command)}\n{result.stderr}")
    return result.stdout.splitlines()


def fields(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def epoch_seconds(lines):
    return [float(fields(line)["seconds"]) for line in lines if line.startswith("epoch=")]


def accuracy(lines):
    return next(float(fields(line)["test_accuracy"]) for line in lines if line.startswith("test_accuracy="))


@dataclass
class Result:
    floor: float = float("inf")
    floor_mode: str = ""
    floor_with_rows: float = float("inf")
    xgrad: float = float("inf")
    torch: float = float("inf")
    xgrad_accuracy: list = field(default_factory=list)
    torch_accuracy: list = field(default_factory=list)


def repeat(floor_command, xgrad_command, torch_command, threads, args):
    """The best epochs and the accuracies of the three programs over args.repetitions runs, one after the other."""
    r = Result()
    for _ in range(args.repetitions):
        for line in run(floor_command, threads):
            f = fields(line)
            if line.startswith("floor_with_rows "):
                r.floor_with_rows = min(r.floor_with_rows, float(f["seconds"]))
            elif float(f["seconds"]) < r.floor:
                r.floor, r.floor_mode = float(f["seconds"]), f["mode"]
        lines = run(xgrad_command, threads)
        r.xgrad = min([r.xgrad] + epoch_seconds(lines))
        r.xgrad_accuracy.append(accuracy(lines))
        lines = run(torch_command, threads)
        r.torch = min([r.torch] + epoch_seconds(lines))
        r.torch_accuracy.append(accuracy(lines))
    return r


def measure(network, threads, args):
    epochs = min(args.epochs, network.max_epochs or args.epochs)
    training = network.flags() + ["--epochs", str(epochs), "--threads", str(threads), "--seed", "1",
                                  "--data", args.data]
    floor = [f"{args.build}/bench/gemm_floor", "--layers", network.layers, "--batch", str(network.batch),
             "--threads", str(threads), "--epochs", str(epochs)]
    return epochs, repeat(floor, [f"{args.build}/bench/mlp_epoch"] + training,
                          [PYTHON, "bench/mlp_epoch.py"] + training, threads, args)


def accuracy_text(values):
    low, high = min(values), max(values)
    return f"{low:.4f}" if low == high else f"{low:.4f}–{high:.4f}"


def speed_tables(args):
    networks = [n for n in NETWORKS if not args.networks or n.name in args.networks]
    results = {t: [(n, *measure(n, t, args)) for n in networks] for t in args.threads}
    for threads, rows in results.items():
        print(f"\n### {threads} thread{'s' if threads > 1 else ''}\n")
        print("| network | floor s/epoch | floor with rows | xgrad s/epoch | xgrad/floor | xgrad/floor with rows "
              "| PyTorch s/epoch | PyTorch/xgrad | xgrad test acc | PyTorch test acc |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for network, epochs, r in rows:
            activation = "ReLU" if network.activation == "relu" else "sigmoid/tanh"
            mode = f" ({r.floor_mode})" if threads > 1 else ""
            print(f"| {network.name} {activation}, batch {network.batch}, lr {network.lr}, {epochs} epochs "
                  f"| {r.floor:.3f}{mode} | {r.floor_with_rows:.3f} | {r.xgrad:.3f} | {r.xgrad / r.floor:.2f} "
                  f"| {r.xgrad / r.floor_with_rows:.2f} | {r.torch:.3f} "
                  f"| {r.torch / r.xgrad:.2f} | {accuracy_text(r.xgrad_accuracy)} "
                  f"| {accuracy_text(r.torch_accuracy)} |")
        print(f"\n1-minute load average before these runs: {min(loads[threads]):.2f}–{max(loads[threads]):.2f} "
              f"(the runs' own threads make {threads} of it; the average lags, so read it as a rough sign)")
    print(f"\nBest epoch of {args.repetitions} repetitions; test accuracy after the last epoch (a range when "
          "the repetitions differ). The floor runs 60000/batch full batches, the trainers one more partial batch "
          "when the batch does not divide 60000. openblas: OpenBLAS's own threads; split-batch: each thread "
          "multiplies half of every batch single-threaded. The floor with rows also shuffles the 60000 rows each "
          "epoch and copies each batch's rows from the 188 MB training set before its products.")


def cnn_table(args):
    print("\n### SimpleConvNet on MNIST, batch 100, Adam lr 0.001\n")
    print("| threads | floor s/epoch | xgrad s/epoch | xgrad/floor | PyTorch s/epoch | PyTorch/xgrad "
          "| xgrad test acc | PyTorch test acc |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in args.threads:
        training = ["--epochs", str(args.epochs), "--threads", str(threads), "--seed", "1", "--data", args.data]
        floor = [f"{args.build}/bench/conv_floor", "--threads", str(threads), "--epochs", str(args.epochs)]
        r = repeat(floor, [f"{args.build}/bench/cnn_epoch"] + training, [PYTHON, "bench/cnn_epoch.py"] + training,
                   threads, args)
        print(f"| {threads} | {r.floor:.3f} ({r.floor_mode}) | {r.xgrad:.3f} | {r.xgrad / r.floor:.2f} "
              f"| {r.torch:.3f} | {r.torch / r.xgrad:.2f} | {accuracy_text(r.xgrad_accuracy)} "
              f"| {accuracy_text(r.torch_accuracy)} |", flush=True)
    loads_seen = [load for values in loads.values() for load in values]
    print(f"\nBest epoch of {args.repetitions} repetitions of {args.epochs} epochs; test accuracy after the last "
          "epoch. The floor is the epoch's matrix products alone (im2col left out), the convolution's shaped the "
          "faster way: over the whole batch at once, or image by image as xgrad's conv2d does. 1-minute load "
          f"average before the runs: {min(loads_seen):.2f}–{max(loads_seen):.2f}.")


def memory_table(args):
    network = NETWORKS[-1]
    command = network.flags()[:4] + ["--batch", "1024", "--lr", str(network.lr), "--steps", str(args.steps),
                                     "--threads", str(args.threads[0]), "--data", args.data]
    rows = [("xgrad", run([f"{args.build}/bench/mlp_epoch"] + command, args.threads[0])),
            ("PyTorch", run([PYTHON, "bench/mlp_epoch.py"] + command, args.threads[0]))]
    print(f"\n### Resident memory, {network.name} ReLU, batch 1024, {args.steps} SGD steps, "
          f"{args.threads[0]} thread(s)\n")
    print("| program | baseline MiB | peak MiB | increase MiB |")
    print("|---|---|---|---|")
    for name, lines in rows:
        f = fields(next(line for line in lines if line.startswith("memory ")))
        print(f"| {name} | {int(f['baseline_kib']) / 1024:.1f} | {int(f['peak_kib']) / 1024:.1f} "
              f"| {int(f['increase_kib']) / 1024:.1f} |")
    print("\nbaseline: resident size after loading MNIST and building the model; peak: the most resident during "
          "the steps (the high-water mark is reset at the baseline, so the loading's temporaries do not count).")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--networks", type=lambda s: s.split(","), default=[],
                        help="a subset, by name: " + ",".join(n.name for n in NETWORKS))
    parser.add_argument("--threads", type=lambda s: [int(t) for t in s.split(",")], default=[1, 2])
    parser.add_argument("--cnn", action="store_true", help="the SimpleConvNet instead of the MLPs")
    parser.add_argument("--memory", action="store_true", help="measure peak resident memory instead of speed")
    parser.add_argument("--steps", type=int, default=20, help="training steps of --memory")
    parser.add_argument("--build", default="build", help="the build directory (release, -Dbench=true)")
    parser.add_argument("--data", default=mnist_directory(), help="MNIST's IDX files")
    args = parser.parse_args()
    unknown = set(args.networks) - {n.name for n in NETWORKS}
    if unknown:
        parser.error(f"unknown network {', '.join(sorted(unknown))}")
    if args.memory:
        memory_table(args)
    elif args.cnn:
        cnn_table(args)
    else:
        speed_tables(args)


if __name__ == "__main__":
    main()
