#!/usr/bin/env bash
# Quick start: installs what is missing, fetches MNIST once (scripts/fetch_mnist.sh), builds the release build and
# runs the main sample, seed 003's two-layer network on MNIST. Arguments go to the sample (try --help).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

install_dependencies
mnist=$(scripts/fetch_mnist.sh)
configure build --buildtype=release -Dplot=enabled
meson compile -C build mnist_two_layer

echo "== samples/mnist_two_layer.cpp: 784-50-10 ReLU network, SGD lr 0.09, batches of 100 (seed 003)"
build/samples/mnist_two_layer --data-dir "$mnist" "$@"
