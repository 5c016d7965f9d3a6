#!/usr/bin/env bash
# Quick start: installs what is missing, builds the release build and runs the main samples.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

install_dependencies
configure build --buildtype=release
meson compile -C build apple xor

echo "== samples/apple.cpp: the seeds' apple graph, forward and backward"
build/samples/apple
echo
echo "== samples/xor.cpp: a 2-4-1 network learns XOR"
build/samples/xor
