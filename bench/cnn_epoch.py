"""cnn_epoch.cpp in PyTorch, for compare.py --cnn: the book's SimpleConvNet with PyTorch's default init and Adam,
the same flags and the same output lines. The epoch is mlp_epoch.py's loop (randperm + index slicing of
preloaded tensors). Run with /usr/bin/python3 (Debian's python3-torch)."""
import argparse

import torch

from mlp_epoch import add_training_arguments, threads_seed_and_mnist, train_and_report


def simple_convnet():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 30, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(30 * 12 * 12, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_training_arguments(parser, lr=0.001)
    args = parser.parse_args()

    (train_inputs, train_labels), (test_inputs, test_labels) = threads_seed_and_mnist(args)
    images = (train_inputs.reshape(-1, 1, 28, 28), train_labels), (test_inputs.reshape(-1, 1, 28, 28), test_labels)
    model = simple_convnet()
    train_and_report(model, torch.optim.Adam(model.parameters(), lr=args.lr), *images, args)


if __name__ == "__main__":
    main()
