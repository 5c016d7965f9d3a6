#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test suite twice: in the release build, and in a build
# with xtensor's assertions and AddressSanitizer + UndefinedBehaviorSanitizer, where any report is a failure.
# Then builds the library alone without PLplot (build-noplot), installs it into build-noplot/prefix and runs an
# outside program against that install (tests/consumer). Ends with "N passed, N failed", counting doctest test
# cases over the three.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

install_dependencies
# The samples' smoke tests train on MNIST (fetched once, like demo.sh); every other suite makes its own data.
XGRAD_MNIST_DIR=$(scripts/fetch_mnist.sh)
export XGRAD_MNIST_DIR
configure build --buildtype=release -Dtests=true -Dsamples=true -Dbench=true -Dplot=enabled
configure build-sanitize --buildtype=debugoptimized -Doptimization=1 -Db_sanitize=address,undefined \
    -Db_lundef=false -Dxtensor_assert=true -Dtests=true -Dsamples=false -Dbench=false -Dplot=enabled
noplot_prefix=$PWD/build-noplot/prefix
configure build-noplot --buildtype=release -Dplot=disabled -Dtests=false -Dsamples=false -Dbench=false \
    --prefix="$noplot_prefix" --libdir=lib

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
for dir in build build-sanitize; do
    echo "== $dir"
    if ! meson compile -C "$dir"; then
        echo "error: $dir does not build" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done

echo "== build-noplot"
consumer=build-noplot/consumer
# The library, installed into its prefix, then tests/consumer built against that install through pkg-config.
build_noplot() {
    { meson compile -C build-noplot && meson install -C build-noplot --quiet --only-changed; } || return 1
    if [ ! -f "$consumer/build.ninja" ]; then
        local log
        log=$(meson setup "$consumer" tests/consumer -Dpkg_config_path="$noplot_prefix/lib/pkgconfig" 2>&1) ||
            { echo "$log" >&2; return 1; }
    fi
    meson compile -C "$consumer"
}
if ! build_noplot; then
    echo "error: build-noplot, or tests/consumer against its install, does not build" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
meson test -C "$consumer" --print-errorlogs || status=1

# Each suite ends its output with doctest's summary:
#   [doctest] test cases: 12 | 12 passed | 0 failed | 0 skipped
# and so does each fuzz replay of build-sanitize (fuzz/replay.cpp), one case per corpus or crash file.
# A suite that crashed (or was killed by a sanitizer) before printing one counts as one failed case.
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json \
    build-noplot/consumer/meson-logs/testlog.json <<'PY'
import json, re, sys
passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).readlines()
    except FileNotFoundError:
        print(f"error: {path} is missing: no tests ran there")
        failed += 1
        continue
    for line in lines:
        test = json.loads(line)
        summary = re.findall(r"test cases:\s*\d+ \|\s*(\d+) passed \|\s*(\d+) failed", test.get("stdout", ""))
        if summary:
            passed += int(summary[-1][0])
            failed += int(summary[-1][1])
        if test["result"] != "OK" and (not summary or int(summary[-1][1]) == 0):
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
exit $status
