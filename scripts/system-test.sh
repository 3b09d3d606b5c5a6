#!/usr/bin/env bash
# System test: the release binary of ecd behind real nginx (TLS and plain servers built from
# deploy/nginx), against the Cronofy simulator, all on free loopback ports with every file in a
# temp dir. Prints one PASS/FAIL line per check and "N passed, N failed" last; exits 1 on failure.
#   ECD_BINARY=path      use this binary instead of building .build/release/ecd
#   ECD_BUILD_SCRATCH=d  build in d instead of .build
#   ECD_SYSTEST_KEEP=1   keep the temp dir (it is kept anyway when a check fails)
#   ECD_TEST_ALLOW_SKIP=k[,k]  accept these checks not running here (seccomp, systemd-verify,
#                        systemd-security, wrk); any other check that cannot run is a
#                        failure. CI sets none.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

export PYTHONDONTWRITEBYTECODE=1  # keep __pycache__ out of the tree
require_tools python3 nginx openssl timeout
ecd=$(ecd_release_binary)
workdir=$(mktemp -d "${TMPDIR:-/tmp}/ecd-systest.XXXXXX")
driver=""
status=1
trap 'cleanup_run "$driver" "$workdir" "$status"' EXIT
trap 'exit 143' INT TERM

timeout --signal=TERM --kill-after=15 900 \
  python3 Tests/System/system_test.py --ecd "$ecd" --workdir "$workdir" --repo "$PWD" &
driver=$!
set +e
wait "$driver"
status=$?
set -e
exit "$status"
