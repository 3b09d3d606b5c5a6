#!/usr/bin/env bash
# Fuzzes ECDHTTP's request parser with libFuzzer (+ AddressSanitizer) for a bounded time.
#   scripts/fuzz-http.sh [seconds]   (default 60)
# Crashes land in .build-fuzz/artifacts/; the corpus grows in .build-fuzz/corpus (seeded from Fuzz/corpus).
# The run is one check: it closes with "1 passed, 0 failed" (or "0 passed, 1 failed"), as the
# other test scripts do, for scripts/test.sh's totals.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scratch="$PWD/.build-fuzz"
mkdir -p "$scratch/artifacts" "$scratch/corpus"
cp -n Fuzz/corpus/* "$scratch/corpus/" 2>/dev/null || true
build() {
    (cd Fuzz && swift build -c debug --scratch-path "$scratch/build" --sanitize=fuzzer --sanitize=address \
        -Xswiftc -parse-as-library -Xswiftc -use-ld=lld --product FuzzHTTPParser)
}
instrumented() {
    local out
    out="$("$scratch/build/debug/FuzzHTTPParser" -runs=1 2>&1 || true)"
    [[ "$out" == *"inline 8-bit counters"* ]]
}
# A build from scratch sometimes comes out without coverage counters (seen with SwiftPM 6.3 and
# both gold and lld; the cause is not known), and libFuzzer then runs blind ("no interesting
# inputs"). So check, rebuild from scratch a few times, and never run a blind fuzzer.
build
for attempt in 1 2 3; do
    instrumented && break
    echo "fuzzer binary not instrumented; rebuilding from scratch (attempt $attempt)" >&2
    rm -rf "$scratch/build"
    build
done
instrumented || { echo "fuzzer binary is not instrumented for coverage" >&2; echo "0 passed, 1 failed"; exit 1; }
# libFuzzer reports every new input; keep that in a log and show the final statistics (and, on a
# crash, the report) so CI's output stays readable.
log="$scratch/fuzz.log"
if ! "$scratch/build/debug/FuzzHTTPParser" "$scratch/corpus" \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/artifacts/" -print_final_stats=1 > "$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzz-http: the parser crashed or misbehaved; the input is in $scratch/artifacts/" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
grep -E '^stat::|^Done ' "$log" || tail -n 10 "$log"
echo "fuzz-http: no crash in ${seconds} s"
echo "1 passed, 0 failed"
