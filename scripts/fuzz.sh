#!/usr/bin/env bash
# usage: scripts/fuzz.sh TARGET SECONDS
# Fuzzes one reader of outside bytes (TARGET: idx, idx_gzip, npy, npz or checkpoint, see fuzz/README.md) for
# SECONDS with libFuzzer under ASan + UBSan, in a clang build dir build-fuzz configured on first use. Starts from
# a working copy of fuzz/corpus/TARGET (build-fuzz/corpus/TARGET, which keeps what earlier runs found), saves any
# crash, leak, timeout or over-limit allocation into fuzz/crashes/TARGET/, and ends with libFuzzer's figures.
# FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode, which records a crash and goes on instead of stopping at it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

targets=(idx idx_gzip npy npz checkpoint)
if [ $# -ne 2 ] || [[ ! " ${targets[*]} " == *" $1 "* ]] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 TARGET SECONDS   (TARGET: ${targets[*]})" >&2
    exit 2
fi
target=$1
seconds=$2

if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized -Db_sanitize=address,undefined \
        -Db_lundef=false -Dcpp_args=-fsanitize=fuzzer-no-link -Dfuzz=true -Dtests=false -Dsamples=false \
        -Dbench=false >/dev/null
fi
ninja -C build-fuzz -j2 "fuzz/fuzz_$target"

corpus=build-fuzz/corpus/$target
crashes=fuzz/crashes/$target
mkdir -p "$corpus" "$crashes"
cp -n fuzz/corpus/"$target"/* "$corpus"/
log=build-fuzz/fuzz-$target.log

# A UBSan report is a crash like ASan's; leaks are checked after each input that allocated more than it freed.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
# An input that makes a reader take over 2 GiB at once, or in all, is reported like a crash (oom-*).
limits=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20)
options=(-max_total_time="$seconds" "${limits[@]}" -print_final_stats=1 -artifact_prefix="$crashes/")
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    options+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
fi
find "$crashes" -type f -name '[a-z]*-*' | sort >build-fuzz/crashes-before
status=0
"build-fuzz/fuzz/fuzz_$target" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?

echo "== $target, $seconds s (full log: $log)"
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|^INFO: fuzzed for|^SUMMARY' "$log" | sort -u || true
{ grep -E '^#[0-9]+:' "$log" || true; } | tail -1  # fork mode's last status line
echo "corpus: $(find "$corpus" -type f | wc -l) files"

# Fork mode writes an input for every crash, most of them the same bug again: keep the first of each kind of
# report at each place in xgrad (replaying it alone to see its stack), counting the inputs kept before.
signature() {
    report=$("build-fuzz/fuzz/fuzz_$target" "${limits[@]}" "$1" 2>&1 || true)
    kind=$(grep -m1 -oE 'SUMMARY: [A-Za-z]+: [a-z-]+|ERROR: libFuzzer: [a-z-]+' <<<"$report" || echo "no report")
    # xgrad's own frames, not libstdc++'s (/usr/bin/../lib/gcc/...).
    place=$(grep -m1 -E '#[0-9]+ 0x[0-9a-f]+ in .*build-fuzz/\.\./(lib|include/xgrad)/' <<<"$report" |
            sed -E 's/.*build-fuzz\/\.\.\/((lib|include\/xgrad)\/[^ ]*).*/\1/')
}
declare -A seen
for input in $(cat build-fuzz/crashes-before); do
    signature "$input"
    seen["$kind $place"]=1
done
for input in $(find "$crashes" -type f -name '[a-z]*-*' | sort | comm -13 build-fuzz/crashes-before -); do
    signature "$input"
    if [ -n "${seen["$kind $place"]:-}" ]; then
        rm "$input"
    else
        seen["$kind $place"]=1
        echo "new: $input: $kind at ${place:-(no xgrad frame)}"
        grep -m1 -E 'runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|terminate called' <<<"$report" || true
    fi
done
exit $status
