#!/usr/bin/env bash
# Cluster system test (issue 16): a private PostgreSQL (initdb + postgres on a free loopback port,
# as the postgres user when run as root), three `ecd serve` nodes of the release binary on it,
# real nginx in front of them (deploy/nginx/ecd-http-cluster.conf) and the Cronofy simulator, every
# file in a temp dir. Prints one PASS/FAIL line per check and "N passed, N failed" last; exits 1 on
# failure.
#   ECD_BINARY=path          use this binary instead of building .build/release/ecd
#   ECD_BUILD_SCRATCH=d      build in d instead of .build
#   ECD_SYSTEST_KEEP=1       keep the temp dir (it is kept anyway when a check fails)
#   ECD_TEST_POSTGRES_BIN=d  PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

export PYTHONDONTWRITEBYTECODE=1  # keep __pycache__ out of the tree
require_tools python3 nginx openssl timeout setpriv
ecd=$(ecd_release_binary)
workdir=$(mktemp -d "${TMPDIR:-/tmp}/ecd-clustertest.XXXXXX")
driver=""
status=1
trap 'cleanup_run "$driver" "$workdir" "$status"' EXIT
trap 'exit 143' INT TERM

timeout --signal=TERM --kill-after=15 600 \
  python3 Tests/System/cluster_test.py --ecd "$ecd" --workdir "$workdir" --repo "$PWD" &
driver=$!
set +e
wait "$driver"
status=$?
set -e
exit "$status"
