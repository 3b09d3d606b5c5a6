#!/usr/bin/env bash
# The test command of the README: unit and integration tests (swift test, one test target at a
# time so that a hang or a failure is attributed and suites do not compete for the 2 cores), then
# the scripted system checks that need the built binary, nginx and a browser. Each stage is bounded.
set -uo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s\n' "$*"; }
failures=0
passed_tests=0
failed_stages=()

mkdir -p .build
stage "swift build --build-tests"
if ! swift build --build-tests > .build/test-build.log 2>&1; then
  tail -n 60 .build/test-build.log
  echo "build failed"
  exit 1
fi
tail -n 2 .build/test-build.log
mkdir -p .build/test-logs

targets=(ECDCryptoTests ECDSQLiteTests ECDHTTPTests ECDCronofyTests ECDSimulatorTests ECDCoreTests ECDAppTests)
for target in "${targets[@]}"; do
  stage "swift test --filter $target"
  log=".build/test-logs/$target.txt"
  timeout 900 swift test --skip-build --filter "$target" > "$log" 2>&1
  status=$?
  # swift test runs the test binary in a process group of its own, which timeout's signal does
  # not reach: end a hung one here so it cannot load the stages that follow.
  pkill -9 -f 'ecdPackageTests.xctest' 2>/dev/null || true
  grep -E '✘|error:' "$log" | head -n 60 || true
  summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -n 1)
  echo "${summary:-no summary (exit $status)}"
  count=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<<"$summary")
  if [ "$status" = 0 ]; then
    passed_tests=$((passed_tests + ${count:-0}))
  else
    [ "$status" = 124 ] && echo "$target: timed out; last lines:" && tail -n 20 "$log"
    failures=$((failures + 1))
    failed_stages+=("$target")
  fi
done

for script in scripts/system-test.sh scripts/browser-test.sh scripts/fuzz-http.sh; do
  if [ -x "$script" ]; then
    stage "$script"
    if ! timeout 1200 "$script"; then
      failures=$((failures + 1))
      failed_stages+=("$script")
    fi
  fi
done

stage "summary"
if [ "$failures" -gt 0 ]; then
  echo "failed: ${failed_stages[*]}"
fi
echo "stages: ${#targets[@]} Swift test targets, then the scripts; failed stages: $failures"
# Swift tests that passed, and stages that failed (a failed stage's own log says which tests).
echo "$passed_tests passed, $failures failed"
[ "$failures" = 0 ]
