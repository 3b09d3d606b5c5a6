#!/usr/bin/env bash
# Crash test of the storage layer: a child process commits rows (single and batched) and reports
# each commit after COMMIT returns; it is killed with SIGKILL at a random moment, the database is
# reopened, and every reported commit must be there with `PRAGMA integrity_check` = ok.
# The test itself is Tests/ECDSQLiteTests/CrashTests.swift (also part of a plain `swift test`);
# this script runs it alone, with more rounds.
#
#   scripts/crash-sqlite.sh [rounds] [max-seconds]      defaults: 100 rounds, 180 s
set -euo pipefail
cd "$(dirname "$0")/.."
export ECD_CRASH_ROUNDS="${1:-100}"
export ECD_CRASH_SECONDS="${2:-180}"
exec swift test --scratch-path "${SCRATCH:-.build}" --filter 'ECDSQLiteTests.CrashTests'
