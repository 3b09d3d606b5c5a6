#!/usr/bin/env bash
# The test command of the README: unit and integration tests (swift test, one test target at a
# time so that a hang or a failure is attributed and suites do not compete for the 2 cores), then
# the check of ECDCore's public interface, the scripted checks that need the release binary, nginx
# and a browser (and the cluster test's private PostgreSQL), then the fuzzer and the
# OpenAPI conformance check, last every test target again under ThreadSanitizer. Each stage is bounded, prints its counts, and fails when it ran
# nothing: a target with zero tests, a log without its summary, or a missing script is a failure.
# The closing line sums every check of every stage: Swift tests, system and browser checks, the
# OpenAPI operations, the fuzz run and the ThreadSanitizer run (one check each).
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failed_stages=()
current_session=""

stage() { printf '\n=== %s\n' "$*"; }
fail_stage() {  # name, why
  echo "FAILED STAGE $1: $2"
  failed=$((failed + 1))
  failed_stages+=("$1")
}

# Every stage runs in a session of its own (setsid); when it ends, whatever is left of exactly that
# session is killed by process id: a hung test binary (swift test starts it in a process group of
# its own, which timeout's signal does not reach), an nginx or a chromium a driver left behind.
# Nothing outside the stage's session is touched.
end_session() {
  local sid=$1 stat line rest pid
  [ -n "$sid" ] || return 0
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    rest=${line##*) }                      # after the command name, which may hold spaces
    read -r _state _ppid _pgrp session _ <<<"$rest"
    if [ "$session" = "$sid" ]; then
      pid=${stat#/proc/}; pid=${pid%/stat}
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
trap 'end_session "$current_session"; exit 143' INT TERM

# run_stage LOG SECONDS COMMAND...: runs COMMAND in a new session, output to LOG (and to the
# terminal when LOG_TO_TERMINAL=1), bounded by SECONDS; returns its exit status.
run_stage() {
  local log=$1 seconds=$2; shift 2
  local sidfile status
  sidfile=$(mktemp "${TMPDIR:-/tmp}/ecd-test-sid.XXXXXX")
  # bash -c records its own pid, the session's id once setsid made it the leader, then execs.
  if [ "${LOG_TO_TERMINAL:-0}" = 1 ]; then
    setsid -w bash -c 'echo $$ > "$0"; exec "$@"' "$sidfile" \
      timeout --kill-after=20 "$seconds" "$@" > >(tee "$log") 2>&1 &
  else
    setsid -w bash -c 'echo $$ > "$0"; exec "$@"' "$sidfile" \
      timeout --kill-after=20 "$seconds" "$@" > "$log" 2>&1 &
  fi
  local pid=$!
  for _ in $(seq 50); do [ -s "$sidfile" ] && break; sleep 0.1; done
  current_session=$(cat "$sidfile" 2>/dev/null)
  wait "$pid"
  status=$?
  end_session "$current_session"
  current_session=""
  rm -f "$sidfile"
  return "$status"
}

mkdir -p .build/test-logs
stage "swift build --build-tests"
if ! run_stage .build/test-logs/build.txt 2400 swift build --build-tests; then
  tail -n 60 .build/test-logs/build.txt
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
tail -n 1 .build/test-logs/build.txt

# ECD_TEST_TARGET_FILTER (a test of this script): replaces each target's filter, to show that a
# target that runs nothing fails the run.
targets=(ECDCryptoTests ECDSQLiteTests ECDPostgresTests ECDCorePostgresTests ECDHTTPTests ECDCronofyTests ECDSimulatorTests ECDCoreTests ECDAppTests)
for target in "${targets[@]}"; do
  stage "swift test --filter $target"
  log=.build/test-logs/$target.txt
  run_stage "$log" 900 swift test --skip-build --filter "${ECD_TEST_TARGET_FILTER:-$target}"
  status=$?
  grep -E '✘|error:' "$log" | head -n 60
  summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -n 1)
  count=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<<"$summary")
  # Each failing test closes with "✘ Test name() failed after ..." (the run's own line excluded).
  broken=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with')
  echo "${summary:-no summary (exit $status)}"
  if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    echo "$target: timed out; last lines:"; tail -n 20 "$log"
  fi
  if [ -z "$summary" ] || [ -z "$count" ]; then
    fail_stage "$target" "no 'Test run with N tests' summary (exit $status)"
  elif [ "$count" = 0 ]; then
    fail_stage "$target" "ran 0 tests"
  elif [ "$status" != 0 ] || [ "$broken" -gt 0 ]; then
    [ "$broken" -gt 0 ] || broken=1
    passed=$((passed + count - broken))
    failed=$((failed + broken))
    failed_stages+=("$target")
    echo "$target: $((count - broken)) passed, $broken failed (exit $status)"
  else
    passed=$((passed + count))
    echo "$target: $count passed, 0 failed"
  fi
done

# A script stage: runs through bash (an exec bit lost in a checkout cannot skip it); it must print
# its own closing `N passed, N failed` line, which is added to the totals.
script_stage() {  # script seconds [arguments...]
  local script=$1 seconds=$2; shift 2
  local log=.build/test-logs/$(basename "$script" .sh).txt
  stage "$script"
  if [ ! -f "$script" ]; then fail_stage "$script" "missing"; return; fi
  LOG_TO_TERMINAL=1 run_stage "$log" "$seconds" bash "$script" "$@"
  local status=$?
  local counts
  counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  if [ -z "$counts" ]; then
    fail_stage "$script" "no closing 'N passed, N failed' line (exit $status)"; return
  fi
  local p=${counts%% passed*} f=${counts#*passed, }; f=${f%% failed}
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$p" = 0 ]; then
    fail_stage "$script" "ran no check"
  elif [ "$status" != 0 ] && [ "$f" = 0 ]; then
    fail_stage "$script" "exit $status with no failed check"
  elif [ "$f" != 0 ]; then
    failed_stages+=("$script")
  fi
  echo "$script: $p passed, $f failed"
}

script_stage scripts/core-interface-check.sh 300
script_stage scripts/system-test.sh 1200
script_stage scripts/cluster-test.sh 700
script_stage scripts/browser-test.sh 400
script_stage scripts/fuzz-http.sh 900 60
script_stage scripts/openapi-check.sh 420

# ThreadSanitizer: every target again, built with --sanitize=thread into its own scratch path (a
# full second build). This stage is about data races: it fails on any ThreadSanitizer report, on a
# target that ran no test or printed no summary, and on a timeout. Tests that fail for another
# reason while sanitized (deadlines of a few seconds under TSan's 5-15x slowdown) are listed but
# not counted: the plain run above already holds every test to its outcome.
stage "swift build --build-tests --sanitize=thread"
tsan=(--sanitize=thread --scratch-path .build-tsan)
if ! run_stage .build/test-logs/tsan-build.txt 3600 swift build --build-tests "${tsan[@]}"; then
  tail -n 60 .build/test-logs/tsan-build.txt
  fail_stage "tsan-build" "the sanitized build failed"
else
  tail -n 1 .build/test-logs/tsan-build.txt
  tsan_tests=0
  for target in "${targets[@]}"; do
    stage "swift test --sanitize=thread --filter $target"
    log=.build/test-logs/tsan-$target.txt
    run_stage "$log" 1800 swift test --skip-build "${tsan[@]}" --filter "${ECD_TEST_TARGET_FILTER:-$target}"
    status=$?
    races=$(grep -c 'WARNING: ThreadSanitizer' "$log")
    summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -n 1)
    count=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<<"$summary")
    echo "${summary:-no summary (exit $status)}; ThreadSanitizer reports: $races"
    grep -E '^✘ Test .* failed after' "$log" | grep -v '^✘ Test run with' | sed 's/^/  (not counted) /' | head -n 20
    if [ "$races" -gt 0 ]; then
      grep -A 12 'WARNING: ThreadSanitizer' "$log" | head -n 80
      fail_stage "tsan-$target" "$races ThreadSanitizer report(s)"
    elif [ "$status" = 124 ] || [ "$status" = 137 ]; then
      tail -n 20 "$log"
      fail_stage "tsan-$target" "timed out"
    elif [ -z "$count" ] || [ "$count" = 0 ]; then
      fail_stage "tsan-$target" "ran no test (exit $status)"
    else
      tsan_tests=$((tsan_tests + count))
    fi
  done
  # One check: every target ran sanitized with no report.
  if [ "$tsan_tests" -gt 0 ] && [[ ! " ${failed_stages[*]} " =~ " tsan-" ]]; then
    passed=$((passed + 1))
    echo "ThreadSanitizer: $tsan_tests tests in ${#targets[@]} targets, no report"
  fi
fi

stage "summary"
if [ "$failed" -gt 0 ]; then
  echo "failed stages: ${failed_stages[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
