"""mlp_epoch.cpp in PyTorch, for compare.py: the same flags and the same output lines. The epoch is the fast
PyTorch loop of pytorch_reference.py (randperm + index slicing of preloaded tensors), keeping the running loss and
accuracy as xg::fit does. Run with /usr/bin/python3 (Debian's python3-torch)."""
import argparse
import os
import re
import resource
import time

import numpy as np
import torch


def read_idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_mnist(directory, split):
    """`split` is "train" or "t10k": pixels scaled to [0, 1] in rows of 784, and the labels."""
    images = read_idx(os.path.join(directory, f"{split}-images-idx3-ubyte"), 16).reshape(-1, 784)
    labels = read_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte"), 8)
    inputs = torch.from_numpy(images.astype(np.float32))
    inputs /= 255
    return inputs, torch.from_numpy(labels.astype(np.int64))


def mlp(layers, activation):
    modules = []
    for i, (n_in, n_out) in enumerate(zip(layers, layers[1:])):
        modules.append(torch.nn.Linear(n_in, n_out))
        if i + 2 < len(layers):
            if activation == "relu":
                modules.append(torch.nn.ReLU())
            else:
                modules.append(torch.nn.Sigmoid() if i == 0 else torch.nn.Tanh())
    return torch.nn.Sequential(*modules)


def train_epoch(model, optimizer, inputs, labels, batch):
    """The running mean loss of the epoch."""
    order = torch.randperm(len(inputs))
    loss_sum, correct = 0.0, 0
    for start in range(0, len(inputs), batch):
        rows = order[start:start + batch]
        x, t = inputs[rows], labels[rows]
        optimizer.zero_grad()
        output = model(x)
        loss = torch.nn.functional.cross_entropy(output, t)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(rows)
        correct += (output.argmax(1) == t).sum().item()
    return loss_sum / len(inputs)


def test_accuracy(model, inputs, labels):
    with torch.no_grad():
        return sum((model(inputs[i:i + 1000]).argmax(1) == labels[i:i + 1000]).sum().item()
                   for i in range(0, len(inputs), 1000)) / len(inputs)


def add_training_arguments(parser, lr):
    """The flags mlp_epoch.cpp and cnn_epoch.cpp share with their PyTorch twins."""
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=os.path.expanduser("~/.cache/xgrad/mnist"))


def threads_seed_and_mnist(args):
    """Sets torch's threads and seed from the flags; MNIST's training and test sets, each (inputs, labels)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return load_mnist(args.data, "train"), load_mnist(args.data, "t10k")


def train_and_report(model, optimizer, train, test, args):
    """args.epochs epochs, a line each, then the test accuracy: the lines compare.py reads."""
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(model, optimizer, *train, args.batch)
        print(f"epoch={epoch} seconds={time.perf_counter() - start:.4f} train_loss={loss:.4f}", flush=True)
    print(f"test_accuracy={test_accuracy(model, *test):.4f}")


def resident_kib():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", default="784,50,10")
    parser.add_argument("--activation", choices=["relu", "sigmoid-tanh"], default="relu")
    parser.add_argument("--steps", type=int, default=0, help="train this many steps and print the memory they add")
    add_training_arguments(parser, lr=0.1)
    args = parser.parse_args()

    (train_inputs, train_labels), test = threads_seed_and_mnist(args)
    model = mlp([int(n) for n in args.layers.split(",")], args.activation)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    if args.steps:
        rows = args.steps * args.batch
        baseline = resident_kib()
        # As in mlp_epoch.cpp: restart the peak from here, past the loading's temporaries.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        train_epoch(model, optimizer, train_inputs[:rows], train_labels[:rows], args.batch)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"memory baseline_kib={baseline} peak_kib={peak} increase_kib={peak - baseline}")
        return

    train_and_report(model, optimizer, (train_inputs, train_labels), test, args)


if __name__ == "__main__":
    main()
