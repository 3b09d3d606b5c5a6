#!/usr/bin/env bash
# SQLite benchmark for ecd's storage layer (not a test): point lookups by a unique text key and
# durable commits (WAL, synchronous=FULL) — one row per transaction and 100 rows per transaction —
# at each table size given (default 1,000 and 100,000 rows). Prints a Markdown table.
#
#   scripts/bench-sqlite.sh [rows…]
#   SCRATCH=.build-bench BENCH_DIR=/var/tmp/ecd-bench scripts/bench-sqlite.sh 1000 100000
#
# BENCH_DIR should sit on the disk the daemon will use: commit rates are fsync rates.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
bench_dir="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ecd-bench.XXXXXX")}"
mkdir -p "$bench_dir"
trap 'rm -rf "$bench_dir"' EXIT

# Only the benchmark product is built, in release mode; the rest of the package is untouched.
swift build -c release --scratch-path "$scratch" --product ECDSQLiteTool >&2
tool="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/ECDSQLiteTool"

echo "SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?'), $(nproc) cores, $(uname -sr), bench dir on $(df -T "$bench_dir" | awk 'NR==2 {print $2}')" >&2
"$tool" bench "$bench_dir" "$@"
