#!/bin/sh
# The one test command: installs missing dependencies, then builds and tests
#   build/       gcc, debugoptimized
#   build-asan/  gcc, AddressSanitizer + UndefinedBehaviorSanitizer
#   build-fuzz/  clang with libFuzzer: each fuzz target runs for a short while
# and checks the formatting. Exits non-zero on any failure; the last line is the
# count of passed and failed tests.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

packaging/deps.sh

fuzz_seconds=${SCANKIOSK_FUZZ_SECONDS:-20}
status=0

setup() {
    dir=$1
    shift
    mkdir -p "$dir"
    if [ -f "$dir/build.ninja" ]; then
        set -- --reconfigure "$@"
    fi
    # Quiet when it works; the whole output when it does not.
    if ! meson setup "$@" "$dir" >"$dir/setup.log" 2>&1; then
        cat "$dir/setup.log"
        echo "run.sh: meson setup $dir failed"
        exit 1
    fi
}

echo "== format"
if ! git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror; then
    echo "run.sh: files above are not formatted with .clang-format (clang-format -i FILE)"
    status=1
fi

echo "== build (gcc)"
setup build
meson compile -C build
meson test -C build --print-errorlogs --num-processes 2 || status=1

echo "== build-asan (gcc, ASan + UBSan)"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
meson compile -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
    --no-suite packaging || status=1

echo "== build-fuzz (clang, libFuzzer, ${fuzz_seconds}s per target)"
CC=clang setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-fuzz
for corpus in tests/fuzz/corpus/*/; do
    name=$(basename "$corpus")
    work=build-fuzz/corpus-$name
    mkdir -p "$work"
    echo "-- $name"
    if ! "build-fuzz/tests/fuzz/$name" -max_total_time="$fuzz_seconds" -max_len=65536 \
        -rss_limit_mb=2048 -print_final_stats=0 "$work" "$corpus" >"build-fuzz/$name.log" 2>&1; then
        tail -n 40 "build-fuzz/$name.log"
        echo "run.sh: fuzzer $name found a crash (input saved in build-fuzz/)"
        status=1
    fi
done

python3 tests/summary.py build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
    || status=1
exit $status
