#!/usr/bin/env bash
# OpenAPI conformance: runs schemathesis (property-based requests built from docs/openapi.yaml)
# against a real daemon with a Cronofy simulator, a connected service account and five active
# accounts, checking that no request gets a 5xx, that every status code, content type, header and
# body is one the spec documents, that requests the spec forbids are refused with a 4xx, and that
# the API key is required where documented. Closes with "N passed, N failed" (schemathesis' test
# cases); exits non-zero on any finding. scripts/test.sh runs it as a stage.
# schemathesis is pinned (SCHEMATHESIS_VERSION below, so a green run stays reproducible) and
# installed from PyPI into .build/openapi-venv on first use (needs python3-venv).
#   scripts/openapi-check.sh [extra schemathesis arguments]
#   OPENAPI_MAX_EXAMPLES=50: examples per operation and phase, the bound of a run (same seed, same
#   requests). OPENAPI_MAX_TIME=seconds instead keeps fuzzing until that time is spent.
#   ECD=path/to/ecd uses that binary instead of the release build of scripts/lib/common.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/common.sh

SCHEMATHESIS_VERSION=4.32.5
export PYTHONDONTWRITEBYTECODE=1
require_tools python3 timeout
venv="$PWD/.build/openapi-venv"
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != *"version $SCHEMATHESIS_VERSION" ]]; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
ecd="${ECD:-$(ecd_release_binary)}"

work="$(mktemp -d "${TMPDIR:-/tmp}/openapi-check.XXXXXX")"
trap 'if [[ "${OPENAPI_KEEP:-0}" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi' EXIT
timeout --foreground -k 10 900 python3 scripts/bench/openapi_check.py \
    --ecd "$ecd" --schemathesis "$venv/bin/schemathesis" --spec docs/openapi.yaml \
    --workdir "$work" --max-examples "${OPENAPI_MAX_EXAMPLES:-50}" ${OPENAPI_MAX_TIME:+--max-time "$OPENAPI_MAX_TIME"} -- "$@"
