#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test suite twice: in the release build, and in a build
# with xtensor's assertions and AddressSanitizer + UndefinedBehaviorSanitizer, where any report is a failure; and
# the suites that run threads a third time under ThreadSanitizer.
# Then builds the library alone without PLplot (build-noplot), installs it into build-noplot/prefix, builds an
# outside program against that install with meson (tests/consumer) and with CMake (tests/consumer_cmake), installs
# each and runs it from there; and, when the install has xg::dist, a second one on it, under mpirun. Ends with
# "N passed, N failed", counting doctest test cases over all of them.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh

install_dependencies
# The samples' smoke tests train on MNIST (fetched once, like demo.sh); every other suite makes its own data.
XGRAD_MNIST_DIR=$(scripts/fetch_mnist.sh)
export XGRAD_MNIST_DIR
configure build --buildtype=release -Dtests=true -Dsamples=true -Dbench=true -Dplot=enabled
# -O1 with debug info under buildtype "custom": a reused directory's `meson configure` applies --buildtype after
# -Doptimization, so debugoptimized would turn it into -O2 and recompile everything.
# xg::dist stays out of both sanitizer builds: Open MPI's own allocations and threads are what they would report.
configure build-sanitize --buildtype=custom -Ddebug=true -Doptimization=1 -Db_sanitize=address,undefined \
    -Db_lundef=false -Dxtensor_assert=true -Dtests=true -Dsamples=false -Dbench=false -Dplot=enabled \
    -Ddistributed=disabled
# ThreadSanitizer over the suites that run threads: data parallelism (parallel), threads training at once (memory)
# and fit (train).
configure build-tsan --buildtype=custom -Ddebug=true -Doptimization=1 -Db_sanitize=thread \
    -Dtests=true -Dsamples=false -Dbench=false -Dplot=disabled -Ddistributed=disabled
threaded_suites=(parallel memory train)
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

echo "== build-tsan"
if ! meson compile -C build-tsan "${threaded_suites[@]/%/_test}"; then
    echo "error: build-tsan does not build" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes 2 \
    "${threaded_suites[@]}" || status=1

echo "== build-noplot"
consumer=build-noplot/consumer
consumer_cmake=build-noplot/consumer_cmake
# The library, installed into its prefix; then a meson project (tests/consumer, through pkg-config) and a CMake
# project (tests/consumer_cmake, through find_package) built against that install and installed into prefixes of
# their own. Those start empty, so that no program an earlier run installed stands in for one not built now.
build_noplot() {
    { meson compile -C build-noplot && meson install -C build-noplot --quiet --only-changed; } || return 1
    rm -rf "$consumer/prefix" "$consumer_cmake/prefix"
    local options=(-Dpkg_config_path="$noplot_prefix/lib/pkgconfig" --prefix="$PWD/$consumer/prefix") log
    if [ -f "$consumer/build.ninja" ]; then
        log=$(meson configure "$consumer" "${options[@]}" 2>&1)
    else
        log=$(meson setup "$consumer" tests/consumer "${options[@]}" 2>&1)
    fi || { echo "$log" >&2; return 1; }
    { meson compile -C "$consumer" && meson install -C "$consumer" --quiet --only-changed; } || return 1
    cmake -S tests/consumer_cmake -B "$consumer_cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DCMAKE_PREFIX_PATH="$noplot_prefix" -DCMAKE_INSTALL_PREFIX="$PWD/$consumer_cmake/prefix" >/dev/null &&
        cmake --build "$consumer_cmake" && cmake --install "$consumer_cmake" >/dev/null
}
if ! build_noplot; then
    echo "error: build-noplot, or a consumer against its install, does not build" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
meson test -C "$consumer" --print-errorlogs || status=1
# The installed programs run as a user would run them, without LD_LIBRARY_PATH: their run paths find libxgrad.
# run_installed LOG COMMAND... records each run as meson test records a test, in a testlog.json of its own.
run_installed() {
    local log=$1 output result=OK
    shift
    output=$(env -u LD_LIBRARY_PATH "$@" 2>&1) || { result=FAIL; status=1; }
    printf '%s\n' "$output"
    python3 -c 'import json, sys; print(json.dumps(dict(name=sys.argv[1], result=sys.argv[2], stdout=sys.argv[3])))' \
        "$*" "$result" "$output" >"$log"
}
installed_logs=("$consumer/installed-testlog.json" "$consumer_cmake/installed-testlog.json")
run_installed "${installed_logs[0]}" "$consumer/prefix/bin/consumer_test"
run_installed "${installed_logs[1]}" "$consumer_cmake/prefix/bin/consumer_cmake_test"
# With xg::dist installed, both consumers must have built its program too: on two processes, allowed to run as root.
if [ -f "$noplot_prefix/lib/pkgconfig/xgrad-dist.pc" ]; then
    two_processes=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 XGRAD_NUM_THREADS=1
                   mpirun -np 2 --oversubscribe)
    installed_logs+=("$consumer/installed-distributed-testlog.json"
                     "$consumer_cmake/installed-distributed-testlog.json")
    run_installed "${installed_logs[2]}" "${two_processes[@]}" "$consumer/prefix/bin/distributed_consumer_test"
    run_installed "${installed_logs[3]}" "${two_processes[@]}" \
        "$consumer_cmake/prefix/bin/distributed_consumer_cmake_test"
fi

# Each suite ends its output with doctest's summary:
#   [doctest] test cases: 12 | 12 passed | 0 failed | 0 skipped
# and so does each fuzz replay of build-sanitize (fuzz/replay.cpp), one case per corpus or crash file.
# A suite that crashed (or was killed by a sanitizer) before printing one counts as one failed case.
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json build-tsan/meson-logs/testlog.json \
    "$consumer/meson-logs/testlog.json" "${installed_logs[@]}" <<'PY'
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
