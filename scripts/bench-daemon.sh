#!/usr/bin/env bash
# Daemon benchmark (docs/design/architecture.md §6): the release `ecd` with a Cronofy simulator, its accounts
# connected through its own API, against nginx serving a static reply of the same size. Not a test:
# run it by hand (measured: 7 minutes for `10 2` on the loaded 2-core box, 2 of them seeding; 5.5 with
# BENCH_SCALE=0); it prints
# Markdown tables for docs/benchmarks.md "Daemon": ratios to nginx, a perf profile, the access log
# on, callbacks/s, POST latency, 1,000 vs 100,000 accounts (flatness), ecd's and nginx's idle RSS.
#   scripts/bench-daemon.sh [duration-seconds [repetitions]]     (default 12 s, 2 repetitions)
#   BENCH_PERF=1 scripts/bench-daemon.sh   also profiles the 100,000-account run with perf
#   BENCH_KEEP=1 scripts/bench-daemon.sh   keeps the work folder (logs, databases, report.md)
#   BENCH_SCALE=0 scripts/bench-daemon.sh  skips the 1,000 vs 100,000 accounts stage (and BenchSeed)
# Servers (ecd, nginx's one worker) pinned to CPU 0, wrk (one thread) to CPU 1. Everything runs
# on loopback ports chosen at random, in a temporary folder that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
duration="${1:-12}"
reps="${2:-2}"
scratch="${SCRATCH:-$root/.build-bench}"

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get update >/dev/null && apt-get install -y nginx wrk >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

echo "building release ecd and BenchSeed…" >&2
# ECD=path/to/ecd uses that (release) binary instead of building one (ECD_COMMIT=… names its source).
if [[ -z "${ECD:-}" ]]; then
    swift build -c release --scratch-path "$scratch" --product ecd >&2
    ECD="$scratch/release/ecd"
fi
extra=()
if [[ "${BENCH_SCALE:-1}" == 1 ]]; then
    (cd Benchmarks/daemon && swift build -c release --scratch-path "$scratch/daemon" --product BenchSeed) >&2
else
    extra+=(--no-scale)
fi

work="$(mktemp -d /tmp/bench-daemon.XXXXXX)"
cleanup() {
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r)"
if [[ -n "${ECD_COMMIT:-}" ]]; then built="$ECD_COMMIT"; else built="tree $(git describe --always --dirty)"; fi
echo "run: $(date -u +%Y-%m-%dT%H:%MZ), ecd built from $built, wrk -t1 -d${duration}s, best of $reps"
[[ "${BENCH_PERF:-0}" == 1 ]] && extra+=(--perf)
# The whole run is bounded: a hang anywhere ends it (and the trap still removes the folder).
timeout --foreground -k 10 1800 python3 scripts/bench/daemon_bench.py \
    --ecd "$ECD" --seed "$scratch/daemon/release/BenchSeed" --workdir "$work" \
    --duration "$duration" --reps "$reps" "${extra[@]}"
