#!/usr/bin/env bash
# Cluster benchmark (issue 16 item 5): a private PostgreSQL started here (initdb + the server as our
# child on a free loopback port, as the `postgres` user when root; fsync on), the release `ecd` and its
# simulator. Prints Markdown tables for docs/benchmarks.md "Cluster": the token route on a
# PostgreSQL node vs a SQLite node (cache hits; same-run ratio), durable callbacks per second on each
# driver, and a refresh storm of 10,000 accounts over three nodes sharing one Cronofy budget (the
# calls at the simulator per window, the time to drain). Not a test: run it by hand.
#   scripts/bench-cluster.sh [duration-seconds [repetitions]]   (default 10 s, 2 repetitions)
#   ECD=path/to/release/ecd ECD_COMMIT=<hash> scripts/bench-cluster.sh   uses that binary
#   BENCH_ONLY=tokens,callbacks,storm  BENCH_STORM_ACCOUNTS=10000  BENCH_BUDGET=6000  (per minute)
#   BENCH_KEEP=1 keeps the work folder (logs, report.md)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
duration="${1:-10}"
reps="${2:-2}"
scratch="${SCRATCH:-$root/.build-bench}"

if ! command -v wrk >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update >/dev/null && apt-get install -y wrk postgresql >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

if [[ -z "${ECD:-}" ]]; then
    echo "building release ecd…" >&2
    swift build -c release --scratch-path "$scratch" --product ecd >&2
    ECD="$scratch/release/ecd"
fi

work="$(mktemp -d /tmp/bench-cluster.XXXXXX)"
cleanup() {
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${ECD_COMMIT:-}" ]]; then built="$ECD_COMMIT"; else built="tree $(git describe --always --dirty)"; fi
echo "run: $(date -u +%Y-%m-%dT%H:%MZ), ecd built from $built, wrk -t1 -d${duration}s, best of $reps"
echo
timeout --foreground -k 10 3600 python3 scripts/bench/cluster_bench.py \
    --ecd "$ECD" --workdir "$work" --duration "$duration" --reps "$reps" \
    --only "${BENCH_ONLY:-tokens,callbacks,storm}" \
    --storm-accounts "${BENCH_STORM_ACCOUNTS:-10000}" --budget "${BENCH_BUDGET:-6000}"
