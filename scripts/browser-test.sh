#!/usr/bin/env bash
# Browser test: the service-account connect flow clicked through in headless Chromium (driven over
# the DevTools protocol by Tests/System/browser_test.py, standard library only), through nginx's
# TLS server, against the simulator's approval page. Screenshots land in
# ${ECD_SCREENSHOT_DIR:-.build/browser-test}. Prints PASS/FAIL lines and "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

export PYTHONDONTWRITEBYTECODE=1  # keep __pycache__ out of the tree
require_tools python3 nginx openssl chromium timeout
ecd=$(ecd_release_binary)
screenshots=${ECD_SCREENSHOT_DIR:-$PWD/.build/browser-test}
workdir=$(mktemp -d "${TMPDIR:-/tmp}/ecd-browsertest.XXXXXX")
driver=""
status=1
trap 'cleanup_run "$driver" "$workdir" "$status"' EXIT
trap 'exit 143' INT TERM

timeout --signal=TERM --kill-after=15 300 \
  python3 Tests/System/browser_test.py --ecd "$ecd" --workdir "$workdir" --repo "$PWD" --screenshots "$screenshots" &
driver=$!
set +e
wait "$driver"
status=$?
set -e
exit "$status"
