#!/usr/bin/env bash
# Bulk-request benchmark (issue 12, item 6): the release `ecd` with a Cronofy simulator; each
# repetition POSTs 1,000 new emails to /v1/accounts, times the 202 (target: p50 ≤ 200 ms) and
# checks every answered account is pending, then waits until all are active. Not a test: run it
# by hand (about a minute); it prints a Markdown row for docs/benchmarks.md "Bulk requests".
#   scripts/bench-bulk.sh [repetitions]     (default 15)
#   ECD=path/to/release/ecd scripts/bench-bulk.sh   uses that binary instead of building one
# The daemon is pinned to CPU 0 (the client and simulator share the rest); Cronofy's request
# budget is lifted (the simulator does not rate-limit) so the settle time is the daemon's own.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
reps="${1:-15}"
scratch="${SCRATCH:-$root/.build-bench}"

if [[ -z "${ECD:-}" ]]; then
    echo "building release ecd…" >&2
    swift build -c release --scratch-path "$scratch" --product ecd >&2
    ECD="$scratch/release/ecd"
fi
work="$(mktemp -d /tmp/bench-bulk.XXXXXX)"
trap 'if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi' EXIT

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r)"
echo "run: $(date -u +%Y-%m-%dT%H:%MZ), ecd built from tree $(git describe --always --dirty), $reps requests of 1,000"
timeout --foreground -k 10 900 python3 scripts/bench/bulk_bench.py \
    --ecd "$ECD" --workdir "$work" --reps "$reps" --server-cpu 0
