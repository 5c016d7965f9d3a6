"""cnn_epoch.cpp in PyTorch, for compare.py --cnn: the book's SimpleConvNet with PyTorch's default init and Adam,
the same flags and the same output lines. The epoch is mlp_epoch.py's loop (randperm + index slicing of
preloaded tensors). Run with /usr/bin/python3 (Debian's python3-torch)."""
import argparse
import time

import torch

from mlp_epoch import add_training_arguments, load_mnist, train_epoch


def simple_convnet():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 30, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(30 * 12 * 12, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_training_arguments(parser, lr=0.001)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_inputs, train_labels = load_mnist(args.data, "train")
    test_inputs, test_labels = load_mnist(args.data, "t10k")
    train_inputs, test_inputs = train_inputs.reshape(-1, 1, 28, 28), test_inputs.reshape(-1, 1, 28, 28)
    model = simple_convnet()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss = train_epoch(model, optimizer, train_inputs, train_labels, args.batch)
        print(f"epoch={epoch} seconds={time.perf_counter() - start:.4f} train_loss={loss:.4f}", flush=True)
    with torch.no_grad():
        correct = sum((model(test_inputs[i:i + 256]).argmax(1) == test_labels[i:i + 256]).sum().item()
                      for i in range(0, len(test_inputs), 256))
    print(f"test_accuracy={correct / len(test_inputs):.4f}")


if __name__ == "__main__":
    main()
