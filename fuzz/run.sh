#!/usr/bin/env bash
# Fuzzes nanogan's loaders with cargo-fuzz (libFuzzer + AddressSanitizer, debug assertions and
# overflow checks on):
#
#   bash fuzz/run.sh [RUNS] [TARGET...]    # RUNS per target, default 10,000,000 (or FUZZ_RUNS=N)
#   FUZZ_SECONDS=1500 bash fuzz/run.sh     # also stop each target after 25 minutes
#
# Targets (all three by default): idx (IDX reader, raw and gzip), checkpoint (safetensors
# loader + the config stored in it), config (config text parser); see fuzz/src/lib.rs.
# Installs what it needs (a nightly toolchain, cargo-fuzz) and says so. Each target starts from
# the committed corpus, tests/fuzz_corpus/<target>/ (replayed on stable by
# tests/fuzz_regressions.rs), and fuzz/corpus/<target>/ (what earlier runs found; not committed),
# stops at the first panic, hang or over-limit allocation, and leaves that input in
# fuzz/artifacts/<target>/. Then add it to tests/fuzz_corpus/<target>/ once it is fixed.
#
# Limits, in proportion to the largest input (-max_len=65536, 64 KiB):
#   -malloc_limit_mb=160: the largest allocation a 64 KiB input may legitimately cause is an IDX
#     gzip's pixels: deflate expands at most ~1032×, so 64 KiB holds at most ~66 MB, which the
#     reader collects in a Vec whose doubling capacity tops out at 128 MiB. Anything sized by a
#     declared shape or length instead of the bytes really present fails this limit.
#   -rss_limit_mb=512: that buffer while it grows (64 + 128 MiB), AddressSanitizer's shadow and
#     a small quarantine (ASAN_OPTIONS below), and the fuzzer itself.
#   -timeout=10: seconds per input; decoding the largest gzip takes well under one.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-${FUZZ_RUNS:-10000000}}"
seconds_limit="${FUZZ_SECONDS:-0}" # 0: no time limit
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx checkpoint config)

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz/run.sh: installing the nightly toolchain (rustup toolchain install nightly --profile minimal)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=10}"
mkdir -p fuzz/logs
summary=()
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    dict=()
    [ -f "fuzz/$t.dict" ] && dict=("-dict=$PWD/fuzz/$t.dict")
    log="fuzz/logs/$t.log"
    echo "fuzz/run.sh: $t, $runs executions$([ "$seconds_limit" = 0 ] || echo " or $seconds_limit s") (log: $log)"
    start=$(date +%s)
    set +e
    cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "tests/fuzz_corpus/$t" -- \
        -runs="$runs" -max_total_time="$seconds_limit" -max_len=65536 -malloc_limit_mb=160 -rss_limit_mb=512 -timeout=10 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
    rc=$?
    set -e
    seconds=$(($(date +%s) - start))
    stat() { grep -o "stat::$1: *[0-9]*" "$log" | tail -1 | grep -o '[0-9]*$' || echo "?"; }
    if [ $rc -eq 0 ]; then
        result="ok, no crash"
    else
        result="FAILED (exit $rc): $(grep -m1 -E '^==[0-9]+==|panicked|ERROR: libFuzzer' "$log" || true)"
        status=1
    fi
    line="$t: $(stat number_of_executed_units) executions, $(stat average_exec_per_sec) exec/s, peak RSS $(stat peak_rss_mb) MB, ${seconds} s: $result"
    echo "$line"
    summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
