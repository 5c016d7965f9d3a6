#!/usr/bin/env bash
# scripts/fetch_mnist.sh's refusals, none of which reach the network: a directory where an IDX file belongs, and
# no npm to fetch with after the set in place fails its checksums.
#   tests/data/fetch_mnist_test.sh path/to/fetch_mnist.sh
set -euo pipefail
script=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }

# expect STATUS MESSAGE -- COMMAND...: runs COMMAND and checks its exit status and that stderr is exactly MESSAGE.
expect() {
    local status=$1 message=$2
    shift 3
    local actual=0
    "$@" >"$tmp/stdout" 2>"$tmp/stderr" || actual=$?
    if [ "$actual" != "$status" ] || [ "$(cat "$tmp/stderr")" != "$message" ]; then
        fail "$*"
        echo "  status $actual, expected $status; stderr:" >&2
        sed 's/^/    /' "$tmp/stderr" >&2
        echo "  expected stderr:" >&2
        echo "$message" | sed 's/^/    /' >&2
    fi
}

# Only what the script needs, without npm: no case may reach the network, even if the script regresses.
mkdir "$tmp/bin"
for tool in sha256sum dirname mkdir mktemp tar mv rm chmod sed grep cat; do
    ln -s "$(command -v "$tool")" "$tmp/bin/$tool"
done
bash=$(command -v bash)

dir=$tmp/in_the_way
mkdir -p "$dir/train-labels-idx1-ubyte"
expect 1 "fetch_mnist.sh: $dir/train-labels-idx1-ubyte is in the way and is not a regular file; remove it, then run\
 again" \
    -- env PATH="$tmp/bin" "$bash" "$script" --dir "$dir"
[ "$(ls -A "$dir")" = train-labels-idx1-ubyte ] || fail "$dir gained files"
[ -z "$(ls -A "$dir/train-labels-idx1-ubyte")" ] || fail "a file was moved into the directory"
[ "$(ls -A "$tmp" | grep -c '^\.mnist')" = 0 ] || fail "a work directory was left"

touch "$tmp/file"
expect 1 "fetch_mnist.sh: $tmp/file is not a directory; remove it or pass another --dir" \
    -- env PATH="$tmp/bin" "$bash" "$script" --dir "$tmp/file"

dir=$tmp/bad_set
mkdir "$dir"
echo "not MNIST" >"$dir/train-images-idx3-ubyte"
expect 1 "fetch_mnist.sh: $dir/train-images-idx3-ubyte does not match its SHA-256 sum
fetch_mnist.sh: $dir/train-labels-idx1-ubyte is missing
fetch_mnist.sh: $dir/t10k-images-idx3-ubyte is missing
fetch_mnist.sh: $dir/t10k-labels-idx1-ubyte is missing
fetch_mnist.sh: npm (Node.js) is needed to fetch MNIST; install Node.js, or put the four IDX files in $dir yourself" \
    -- env PATH="$tmp/bin" "$bash" "$script" --dir "$dir"
[ "$(cat "$dir/train-images-idx3-ubyte")" = "not MNIST" ] || fail "the bad file was changed"

[ "$failures" = 0 ] && echo "all fetch_mnist.sh checks passed"
exit "$((failures > 0))"
