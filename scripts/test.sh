#!/usr/bin/env bash
# The test command of the README: unit and integration tests (swift test), then the scripted
# system checks that need the built binary, nginx and a browser. Each stage is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s\n' "$*"; }

stage "swift build"
swift build --build-tests 2>&1 | tail -n 5

stage "swift test"
# Swift Testing runs suites in parallel; the machine has 2 cores.
set +e
timeout 2400 swift test --skip-build > .build/test-output.txt 2>&1
status=$?
set -e
# The full log stays in .build/test-output.txt; show failures and the closing summary.
grep -E 'failed|error:|recorded an issue' .build/test-output.txt | head -n 100 || true
tail -n 15 .build/test-output.txt
[ "$status" = 0 ] || { echo "swift test failed ($status)"; exit "$status"; }

for script in scripts/system-test.sh scripts/browser-test.sh scripts/fuzz-http.sh; do
  if [ -x "$script" ]; then
    stage "$script"
    timeout 1200 "$script"
  fi
done

stage "all tests passed"
