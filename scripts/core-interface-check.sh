#!/usr/bin/env bash
# ECDCore's public interface speaks the core's own language (issue 13 item 5): it names no
# ECDCronofy type (client, transport, error, resources) and no HTTP status; ECDApp maps outcomes to
# statuses. Extracts the public symbol graph of the built ECDCore module (swift-symbolgraph-extract
# on the debug build that `swift build --build-tests` left) and checks every public declaration.
# `package` declarations (the test-only initializer) are not part of the public interface.
# Closes with "N passed, N failed"; scripts/test.sh runs it after the build.
#   scripts/core-interface-check.sh [bin-path]   (default: `swift build --show-bin-path`)
set -uo pipefail
cd "$(dirname "$0")/.."

bin="${1:-$(swift build --show-bin-path)}"
modules="$bin/Modules"
[ -f "$modules/ECDCore.swiftmodule" ] || modules="$bin"
out="$(mktemp -d "${TMPDIR:-/tmp}/core-interface.XXXXXX")"
trap 'rm -rf "$out"' EXIT

# The C modules ECDCore reaches through its dependencies are found by their module maps.
maps=()
for map in Sources/*/module.modulemap; do maps+=(-Xcc "-fmodule-map-file=$PWD/$map"); done
# Their headers' folders, as SwiftPM finds them (pkg-config; libpq's is not on the default path).
for library in libpq libcrypto; do
    for flag in $(pkg-config --cflags-only-I "$library" 2>/dev/null); do maps+=(-Xcc "$flag"); done
done
if ! swift-symbolgraph-extract -module-name ECDCore -I "$modules" -minimum-access-level public \
        -target "$(uname -m)-unknown-linux-gnu" -output-dir "$out" "${maps[@]}" >"$out/extract.log" 2>&1; then
    cat "$out/extract.log"
    echo "could not extract ECDCore's symbol graph from $modules (build first)"
    echo "0 passed, 1 failed"
    exit 1
fi

python3 - "$out" <<'PY'
import json, os, re, sys
out = sys.argv[1]
graph = json.load(open(os.path.join(out, "ECDCore.symbols.json")))
symbols = graph["symbols"]
passed = failed = 0

def check(ok, what, problems=()):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAILED: {what}")
        for problem in problems:
            print(f"  {problem}")

def declaration(symbol):
    return "".join(f["spelling"] for f in symbol.get("declarationFragments", []))

def name(symbol):
    return ".".join(symbol["pathComponents"])

# 1. The graph is the real one (an empty or wrong module would pass everything below).
check(any(s["pathComponents"] == ["EnterpriseConnect"] for s in symbols) and len(symbols) > 100,
      f"ECDCore's public symbol graph holds the facade ({len(symbols)} symbols)")

# 2. No public declaration names a type of ECDCronofy or ECDHTTP (by the referenced type's
#    module, from its mangled name, and by the spelled names the issue lists).
forbidden_modules = ("s:10ECDCronofy", "s:7ECDHTTP")
forbidden_names = re.compile(r"\b(ECDCronofy|CronofyClient|CronofyTransport|CronofyError|CronofyConfiguration|"
                             r"TokenResponse|Resource|UserInfo|HTTPStatus)\b")
problems = []
for symbol in symbols:
    for fragment in symbol.get("declarationFragments", []):
        precise = fragment.get("preciseIdentifier", "")
        if precise.startswith(forbidden_modules) or (fragment.get("kind") == "typeIdentifier"
                                                     and forbidden_names.search(fragment["spelling"])):
            problems.append(f"{name(symbol)}: {declaration(symbol)}")
            break
check(not problems, "no public declaration of ECDCore names an ECDCronofy or ECDHTTP type", problems)

# 3. ECDCore extends no ECDCronofy type publicly (that would make a graph of its own).
extensions = [f for f in os.listdir(out) if f.startswith("ECDCore@ECDCronofy") or f.startswith("ECDCore@ECDHTTP")]
check(not extensions, "ECDCore adds no public member to ECDCronofy or ECDHTTP types", extensions)

# 4. No public name speaks of an HTTP status (`callbackRejected(status: Int)` was one): a symbol
#    or parameter called like one, or a status held as a number.
named = re.compile(r"(?i)http_?status|status_?code")
numbered = re.compile(r"(?i)\bstatus\w*\s*:\s*(Int|Int16|UInt16|Int32|UInt)\b")
problems = []
for symbol in symbols:
    text = declaration(symbol)
    if named.search(symbol["names"]["title"]) or named.search(text) or numbered.search(text):
        problems.append(f"{name(symbol)}: {text}")
check(not problems, "no public name or parameter of ECDCore is an HTTP status", problems)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
