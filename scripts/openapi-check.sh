#!/usr/bin/env bash
# OpenAPI conformance: runs schemathesis (property-based requests built from docs/openapi.yaml)
# against a real daemon with a Cronofy simulator, a connected service account and five active
# accounts, checking that no request gets a 5xx, that every status code, content type, header and
# body is one the spec documents, that requests the spec forbids are refused with a 4xx, and that
# the API key is required where documented. Exits non-zero on any finding.
# Not run by CI: it installs schemathesis from PyPI into .build-bench/venv (reused afterwards).
#   scripts/openapi-check.sh [extra schemathesis arguments]
#   OPENAPI_MAX_EXAMPLES=25 OPENAPI_MAX_TIME=120 (seconds; fuzzing repeats until it is spent) bound the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scratch="${SCRATCH:-$root/.build-bench}"
venv="$scratch/venv"

if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet schemathesis
fi
# ECD=path/to/ecd uses that binary instead of building one.
if [[ -z "${ECD:-}" ]]; then
    swift build -c release --scratch-path "$scratch" --product ecd >&2
    ECD="$scratch/release/ecd"
fi

work="$(mktemp -d /tmp/openapi-check.XXXXXX)"
trap 'if [[ "${OPENAPI_KEEP:-0}" == 1 ]]; then echo "work folder kept: $work" >&2; else rm -rf "$work"; fi' EXIT
timeout --foreground -k 10 900 python3 scripts/bench/openapi_check.py \
    --ecd "$ECD" --schemathesis "$venv/bin/schemathesis" --spec docs/openapi.yaml \
    --workdir "$work" --max-examples "${OPENAPI_MAX_EXAMPLES:-25}" --max-time "${OPENAPI_MAX_TIME:-120}" -- "$@"
